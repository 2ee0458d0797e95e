// Starts `archc lsp` (archdsl[lsp]) for .arch files; everything else is in the server.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("archdsl").get("server.command");
  client = new LanguageClient("archdsl", "archdsl language server",
    { command, args, transport: TransportKind.stdio },
    { documentSelector: [{ scheme: "file", language: "archdsl" }] });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
