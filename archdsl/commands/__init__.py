"""One module per `archc` subcommand. Each defines `NAME`, `HELP`, `configure(parser)` and
`run(args) -> int`; `archdsl.cli` lists them in `COMMANDS`. A subcommand raises `ArchError` for
user errors (the CLI renders it and exits 1) and returns 2 for usage errors."""
