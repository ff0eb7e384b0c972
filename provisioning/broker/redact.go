package broker

import "encoding/json"

// secretToolFields are the fields of a session tool that hold credentials: a type
// "mcp" tool's authorization (an OAuth token the service sends to the MCP server) and
// headers. The broker mints keys with them; its answer to the device leaves them out.
var secretToolFields = []string{"authorization", "headers"}

// redactTools returns the tools array raw without the secret fields of its tools.
// Something that is not an array of objects (the request checks made sure it is) is
// dropped whole rather than passed on.
func redactTools(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var tools []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tools); err != nil {
		return nil
	}
	for _, t := range tools {
		for _, f := range secretToolFields {
			delete(t, f)
		}
	}
	out, err := json.Marshal(tools)
	if err != nil {
		return nil
	}
	return out
}
