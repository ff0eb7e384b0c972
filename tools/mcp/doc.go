// Package mcp connects the device to MCP servers (Model Context Protocol) on the LAN or
// on the device itself and offers their tools to the model, through the official Go
// SDK (github.com/modelcontextprotocol/go-sdk). It is a package of its own so that
// only the binaries that run tools link the SDK.
//
// # Servers
//
// A Server is one [[tools.mcp]] entry: a Streamable HTTP endpoint (URL, https:// or
// http:// to loopback, with an optional bearer token read from a file at each request
// and an optional CA bundle) or a program spoken to over stdio (Command: argv, no
// shell, the same minimal environment as command tools).
//
// # Supervision
//
// A Client's Run is the one goroutine that owns a server's connection: it connects,
// lists the tools (following the cursor), keeps those the allow-list names, names them
// prefix+name and puts them in the tools.Set as the server's group (Set.Replace). It
// lists again when the server says its list changed (notifications/tools/list_changed).
// It pings the server every PingEvery; when the connection ends, a ping or a call fails
// with a transport error, the group is withdrawn (calls to its tools get a "server
// unavailable" error output) and Run reconnects after a backoff wait. Every change of
// the declarations is reported through OnChange, which the appliance turns into a
// session.update carrying the full tool list.
//
// # Calls
//
// A call forwards the model's arguments (already checked against the server's schema
// by the Set) with the call's context, so a barge-in cancels it on the server too. A
// result flagged isError is an error output; otherwise the structured content if there
// is some, else the text parts (one part that is JSON is passed as JSON). Neither the
// token nor the arguments or outputs are logged above debug.
package mcp
