"""The language server (`archc lsp`): `analysis` checks a document once, `features` answers
editor requests from that check, `server` speaks LSP over stdio (pygls)."""
