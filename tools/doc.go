// Package tools holds the function tools the model may call on the device: a Set of
// named tools, each with a JSON Schema for its arguments, that answers rtc's
// ToolRunner (RunTool); the built-in device tools (volume, mute, stop, time, status)
// that act through the appliance's state machine like its buttons do; command tools
// (CommandTool) and HTTP tools (HTTPTool).
//
// # Calls
//
// RunTool finds the tool by name (an unknown name is an error), checks the arguments
// against the tool's schema (github.com/santhosh-tekuri/jsonschema/v6; invalid JSON
// or arguments that do not match are errors the model is told about), runs it with the
// tool's timeout and returns its result as JSON, capped at MaxOutput bytes. Errors come
// back as Go errors; rtc turns them into an error output for the model. Nothing here
// logs arguments or outputs above debug.
//
// # Built-ins
//
// Builtins adds the device tools named in a list (config [tools] builtin; every one
// by default): set_volume, get_volume, mute, stop, get_time and device_status. They
// reach the device through the small Device interface, which the appliance implements
// with the same remote methods the control socket uses.
//
// # Command and HTTP tools
//
// A command tool runs a program (argv, no shell) in its own process group with the
// arguments as JSON on stdin and only PATH, LANG, EDGEVOICE_TOOL and its configured
// env; stdout (capped) is the output, a non-zero exit is an error with the first line
// of stderr, the timeout kills the group. An HTTP tool POSTs the arguments as JSON to
// an https:// URL (http:// only to loopback) with an optional bearer token read from a
// file at each call, verifies TLS against the system roots or a CA bundle, follows no
// redirect, and takes the 2xx body (capped) as the output. Neither the token nor the
// URL (which may hold a webhook id) appears in an error or a log.
package tools
