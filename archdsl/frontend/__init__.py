"""The front end: source text -> syntax trees (parse, loader) -> IR (elaborate)."""
