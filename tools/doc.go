// Package tools holds the function tools the model may call on the device: a Set of
// named tools, each with a JSON Schema for its arguments, that answers rtc's
// ToolRunner (RunTool), and the built-in device tools (volume, mute, stop, time,
// status) that act through the appliance's state machine like its buttons do.
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
package tools
