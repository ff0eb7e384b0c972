package events

import (
	"fmt"

	"github.com/edgevoice/edgevoice/realtime"
)

// Dialect is the protocol dialect; it is realtime.Dialect, the key's type, so a session
// can pass key.Dialect straight through.
type Dialect = realtime.Dialect

// The two dialects, re-exported for callers that import only this package.
const (
	GA      = realtime.DialectGA
	Preview = realtime.DialectPreview
)

// Type identifies an event independently of its dialect's wire name.
type Type int

// Event types. The comment gives the wire name (GA / preview when they differ).
const (
	TypeUnknown Type = iota // an event this package does not model

	// client → server
	TypeSessionUpdate          // session.update
	TypeInputAudioBufferClear  // input_audio_buffer.clear
	TypeInputAudioBufferCommit // input_audio_buffer.commit
	TypeResponseCreate         // response.create
	TypeResponseCancel         // response.cancel
	TypeOutputAudioBufferClear // output_audio_buffer.clear
	TypeFunctionCallOutput     // conversation.item.create (a function_call_output item)
	TypeMCPApprovalResponse    // conversation.item.create (an mcp_approval_response item)

	// server → client
	TypeSessionCreated              // session.created
	TypeSessionUpdated              // session.updated
	TypeInputAudioBufferCommitted   // input_audio_buffer.committed
	TypeInputAudioBufferCleared     // input_audio_buffer.cleared
	TypeSpeechStarted               // input_audio_buffer.speech_started
	TypeSpeechStopped               // input_audio_buffer.speech_stopped
	TypeConversationItemCreated     // conversation.item.created
	TypeResponseCreated             // response.created
	TypeTranscriptDelta             // response.output_audio_transcript.delta / response.audio_transcript.delta
	TypeTranscriptDone              // response.output_audio_transcript.done / response.audio_transcript.done
	TypeTextDelta                   // response.output_text.delta / response.text.delta
	TypeTextDone                    // response.output_text.done / response.text.done
	TypeResponseDone                // response.done
	TypeOutputAudioBufferStarted    // output_audio_buffer.started
	TypeOutputAudioBufferStopped    // output_audio_buffer.stopped
	TypeOutputAudioBufferCleared    // output_audio_buffer.cleared
	TypeInputTranscriptionDelta     // conversation.item.input_audio_transcription.delta
	TypeInputTranscriptionCompleted // conversation.item.input_audio_transcription.completed
	TypeInputTranscriptionFailed    // conversation.item.input_audio_transcription.failed
	TypeError                       // error
	TypeRateLimitsUpdated           // rate_limits.updated
	TypeFunctionCallArgumentsDone   // response.function_call_arguments.done
	TypeOutputItemDone              // response.output_item.done
	TypeMCPListToolsFailed          // mcp_list_tools.failed
	TypeMCPCallFailed               // response.mcp_call.failed
	TypeConversationItemDone        // conversation.item.done (GA)

	numTypes
)

// wireNames[t] = {GA name, preview name}.
var wireNames = [numTypes][2]string{
	TypeUnknown:                     {"", ""},
	TypeSessionUpdate:               {"session.update", "session.update"},
	TypeInputAudioBufferClear:       {"input_audio_buffer.clear", "input_audio_buffer.clear"},
	TypeInputAudioBufferCommit:      {"input_audio_buffer.commit", "input_audio_buffer.commit"},
	TypeResponseCreate:              {"response.create", "response.create"},
	TypeResponseCancel:              {"response.cancel", "response.cancel"},
	TypeOutputAudioBufferClear:      {"output_audio_buffer.clear", "output_audio_buffer.clear"},
	TypeFunctionCallOutput:          {"conversation.item.create", "conversation.item.create"},
	TypeMCPApprovalResponse:         {"conversation.item.create", "conversation.item.create"},
	TypeSessionCreated:              {"session.created", "session.created"},
	TypeSessionUpdated:              {"session.updated", "session.updated"},
	TypeInputAudioBufferCommitted:   {"input_audio_buffer.committed", "input_audio_buffer.committed"},
	TypeInputAudioBufferCleared:     {"input_audio_buffer.cleared", "input_audio_buffer.cleared"},
	TypeSpeechStarted:               {"input_audio_buffer.speech_started", "input_audio_buffer.speech_started"},
	TypeSpeechStopped:               {"input_audio_buffer.speech_stopped", "input_audio_buffer.speech_stopped"},
	TypeConversationItemCreated:     {"conversation.item.created", "conversation.item.created"},
	TypeResponseCreated:             {"response.created", "response.created"},
	TypeTranscriptDelta:             {"response.output_audio_transcript.delta", "response.audio_transcript.delta"},
	TypeTranscriptDone:              {"response.output_audio_transcript.done", "response.audio_transcript.done"},
	TypeTextDelta:                   {"response.output_text.delta", "response.text.delta"},
	TypeTextDone:                    {"response.output_text.done", "response.text.done"},
	TypeResponseDone:                {"response.done", "response.done"},
	TypeOutputAudioBufferStarted:    {"output_audio_buffer.started", "output_audio_buffer.started"},
	TypeOutputAudioBufferStopped:    {"output_audio_buffer.stopped", "output_audio_buffer.stopped"},
	TypeOutputAudioBufferCleared:    {"output_audio_buffer.cleared", "output_audio_buffer.cleared"},
	TypeInputTranscriptionDelta:     {"conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.delta"},
	TypeInputTranscriptionCompleted: {"conversation.item.input_audio_transcription.completed", "conversation.item.input_audio_transcription.completed"},
	TypeInputTranscriptionFailed:    {"conversation.item.input_audio_transcription.failed", "conversation.item.input_audio_transcription.failed"},
	TypeError:                       {"error", "error"},
	TypeRateLimitsUpdated:           {"rate_limits.updated", "rate_limits.updated"},
	TypeFunctionCallArgumentsDone:   {"response.function_call_arguments.done", "response.function_call_arguments.done"},
	TypeOutputItemDone:              {"response.output_item.done", "response.output_item.done"},
	TypeMCPListToolsFailed:          {"mcp_list_tools.failed", "mcp_list_tools.failed"},
	TypeMCPCallFailed:               {"response.mcp_call.failed", "response.mcp_call.failed"},
	TypeConversationItemDone:        {"conversation.item.done", "conversation.item.done"},
}

// Name returns the wire name of t in dialect d ("" for TypeUnknown).
func (t Type) Name(d Dialect) string {
	if t < 0 || t >= numTypes {
		return ""
	}
	if d == Preview {
		return wireNames[t][1]
	}
	return wireNames[t][0]
}

// String returns the GA wire name, or "unknown".
func (t Type) String() string {
	if t == TypeUnknown {
		return "unknown"
	}
	if t < 0 || t >= numTypes {
		return fmt.Sprintf("Type(%d)", int(t))
	}
	return wireNames[t][0]
}

// IsClient reports whether t is sent by the client.
func (t Type) IsClient() bool { return t >= TypeSessionUpdate && t <= TypeMCPApprovalResponse }

// ParseType maps a wire name of either dialect to its Type (TypeUnknown if none).
// conversation.item.create maps to TypeFunctionCallOutput; Decode tells its item types
// apart (an mcp_approval_response item is TypeMCPApprovalResponse).
func ParseType(name string) Type {
	switch name {
	case "session.update":
		return TypeSessionUpdate
	case "input_audio_buffer.clear":
		return TypeInputAudioBufferClear
	case "input_audio_buffer.commit":
		return TypeInputAudioBufferCommit
	case "response.create":
		return TypeResponseCreate
	case "response.cancel":
		return TypeResponseCancel
	case "output_audio_buffer.clear":
		return TypeOutputAudioBufferClear
	case "conversation.item.create":
		return TypeFunctionCallOutput
	case "session.created":
		return TypeSessionCreated
	case "session.updated":
		return TypeSessionUpdated
	case "input_audio_buffer.committed":
		return TypeInputAudioBufferCommitted
	case "input_audio_buffer.cleared":
		return TypeInputAudioBufferCleared
	case "input_audio_buffer.speech_started":
		return TypeSpeechStarted
	case "input_audio_buffer.speech_stopped":
		return TypeSpeechStopped
	case "conversation.item.created":
		return TypeConversationItemCreated
	case "response.created":
		return TypeResponseCreated
	case "response.output_audio_transcript.delta", "response.audio_transcript.delta":
		return TypeTranscriptDelta
	case "response.output_audio_transcript.done", "response.audio_transcript.done":
		return TypeTranscriptDone
	case "response.output_text.delta", "response.text.delta":
		return TypeTextDelta
	case "response.output_text.done", "response.text.done":
		return TypeTextDone
	case "response.done":
		return TypeResponseDone
	case "output_audio_buffer.started":
		return TypeOutputAudioBufferStarted
	case "output_audio_buffer.stopped":
		return TypeOutputAudioBufferStopped
	case "output_audio_buffer.cleared":
		return TypeOutputAudioBufferCleared
	case "conversation.item.input_audio_transcription.delta":
		return TypeInputTranscriptionDelta
	case "conversation.item.input_audio_transcription.completed":
		return TypeInputTranscriptionCompleted
	case "conversation.item.input_audio_transcription.failed":
		return TypeInputTranscriptionFailed
	case "error":
		return TypeError
	case "rate_limits.updated":
		return TypeRateLimitsUpdated
	case "response.function_call_arguments.done":
		return TypeFunctionCallArgumentsDone
	case "response.output_item.done":
		return TypeOutputItemDone
	case "mcp_list_tools.failed":
		return TypeMCPListToolsFailed
	case "response.mcp_call.failed":
		return TypeMCPCallFailed
	case "conversation.item.done":
		return TypeConversationItemDone
	}
	return TypeUnknown
}

// TurnDetectionType selects the session's turn detection.
type TurnDetectionType int

const (
	// TurnDetectionUnset leaves turn detection out of a session.update (server keeps its own).
	TurnDetectionUnset TurnDetectionType = iota
	// TurnDetectionNone is JSON null: no VAD, the client commits turns (push-to-talk).
	TurnDetectionNone
	// TurnDetectionServerVAD is "server_vad" (threshold, prefix padding, silence duration).
	TurnDetectionServerVAD
	// TurnDetectionSemanticVAD is "semantic_vad" (eagerness).
	TurnDetectionSemanticVAD
)

// String returns "unset", "none", "server_vad" or "semantic_vad".
func (t TurnDetectionType) String() string {
	switch t {
	case TurnDetectionUnset:
		return "unset"
	case TurnDetectionNone:
		return "none"
	case TurnDetectionServerVAD:
		return "server_vad"
	case TurnDetectionSemanticVAD:
		return "semantic_vad"
	}
	return fmt.Sprintf("TurnDetectionType(%d)", int(t))
}

// ParseTurnDetectionType parses "none" (also "" and "null"), "server_vad" or "semantic_vad".
func ParseTurnDetectionType(s string) (TurnDetectionType, error) {
	switch s {
	case "none", "", "null":
		return TurnDetectionNone, nil
	case "server_vad":
		return TurnDetectionServerVAD, nil
	case "semantic_vad":
		return TurnDetectionSemanticVAD, nil
	}
	return 0, fmt.Errorf("events: unknown turn detection %q (want \"none\", \"server_vad\" or \"semantic_vad\")", s)
}

// Eagerness is semantic_vad's eagerness.
type Eagerness int

// Eagerness values; EagernessUnset omits the field.
const (
	EagernessUnset Eagerness = iota
	EagernessLow
	EagernessMedium
	EagernessHigh
	EagernessAuto
)

var eagernessNames = [...]string{"", "low", "medium", "high", "auto"}

// String returns the wire value ("low", "medium", "high", "auto"; "" when unset).
func (e Eagerness) String() string {
	if e < 0 || int(e) >= len(eagernessNames) {
		return fmt.Sprintf("Eagerness(%d)", int(e))
	}
	return eagernessNames[e]
}

// ParseEagerness parses "low", "medium", "high" or "auto" ("" is unset).
func ParseEagerness(s string) (Eagerness, error) {
	for i, n := range eagernessNames {
		if n == s {
			return Eagerness(i), nil
		}
	}
	return 0, fmt.Errorf("events: unknown eagerness %q (want low, medium, high or auto)", s)
}

// NoiseReduction is the input noise reduction (preview input_audio_noise_reduction,
// GA audio.input.noise_reduction).
type NoiseReduction int

const (
	// NoiseReductionUnset leaves the field out.
	NoiseReductionUnset NoiseReduction = iota
	// NoiseReductionOff is JSON null.
	NoiseReductionOff
	// NoiseReductionNearField is {"type":"near_field"} (close-talk mics).
	NoiseReductionNearField
	// NoiseReductionFarField is {"type":"far_field"} (room mics, mic arrays).
	NoiseReductionFarField
)

var noiseNames = [...]string{"unset", "off", "near_field", "far_field"}

// String returns "unset", "off", "near_field" or "far_field".
func (n NoiseReduction) String() string {
	if n < 0 || int(n) >= len(noiseNames) {
		return fmt.Sprintf("NoiseReduction(%d)", int(n))
	}
	return noiseNames[n]
}

// ParseNoiseReduction parses "off" (also "" and "none"), "near_field" or "far_field".
func ParseNoiseReduction(s string) (NoiseReduction, error) {
	switch s {
	case "off", "", "none":
		return NoiseReductionOff, nil
	case "near_field":
		return NoiseReductionNearField, nil
	case "far_field":
		return NoiseReductionFarField, nil
	}
	return 0, fmt.Errorf("events: unknown noise reduction %q (want off, near_field or far_field)", s)
}

// ResponseStatus is a response's status.
type ResponseStatus int

// Response statuses as on the wire.
const (
	StatusUnknown ResponseStatus = iota
	StatusInProgress
	StatusCompleted
	StatusCancelled
	StatusIncomplete
	StatusFailed
)

var statusNames = [...]string{"", "in_progress", "completed", "cancelled", "incomplete", "failed"}

// String returns the wire value ("in_progress", "completed", ...; "" if unknown).
func (s ResponseStatus) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("ResponseStatus(%d)", int(s))
	}
	return statusNames[s]
}

func parseStatus(s string) ResponseStatus {
	for i, n := range statusNames {
		if n == s && i > 0 {
			return ResponseStatus(i)
		}
	}
	return StatusUnknown
}
