package events

// WithClientEventID returns the client event ev with its EventID set to id, so that an
// error the service answers it with (error.event_id) can be tied back to it. Server
// events and Unknown come back unchanged.
func WithClientEventID(ev Event, id string) Event {
	switch e := ev.(type) {
	case SessionUpdate:
		e.EventID = id
		return e
	case InputAudioBufferClear:
		e.EventID = id
		return e
	case InputAudioBufferCommit:
		e.EventID = id
		return e
	case ResponseCreate:
		e.EventID = id
		return e
	case ResponseCancel:
		e.EventID = id
		return e
	case OutputAudioBufferClear:
		e.EventID = id
		return e
	case FunctionCallOutput:
		e.EventID = id
		return e
	case MCPApprovalResponse:
		e.EventID = id
		return e
	}
	return ev
}
