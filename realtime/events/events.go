package events

import (
	"encoding/json"
	"fmt"
)

// Event is one data-channel event. The concrete types are the structs of this file,
// used as values.
type Event interface {
	Type() Type
}

// TurnDetection configures voice activity detection. Zero numeric fields are left out
// so the server applies its defaults.
type TurnDetection struct {
	Type              TurnDetectionType
	Threshold         float64   // server_vad, 0..1
	PrefixPaddingMS   int       // server_vad
	SilenceDurationMS int       // server_vad
	Eagerness         Eagerness // semantic_vad
	CreateResponse    *bool     // nil = server default (true)
	InterruptResponse *bool     // nil = server default (true)
}

// Transcription configures input (user speech) transcription. Model "" means off (JSON null).
type Transcription struct {
	Model    string // whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe, ...
	Language string // ISO-639-1, e.g. "en"; "" = auto
	Prompt   string
}

// Tool is a function tool, or with MCP set a server-side MCP tool.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema object; nil = {"type":"object","properties":{}}
	// MCP, if set, makes this a type "mcp" tool: the service itself connects to a
	// remote MCP server (GA dialect only; Name, Description and Parameters are unused).
	MCP *MCPTool
}

// MCPTool is the GA session's type "mcp" tool (server_label, server_url,
// server_description, allowed_tools, require_approval, authorization), as the
// Realtime MCP guide documents it.
type MCPTool struct {
	ServerLabel       string
	ServerURL         string
	ServerDescription string
	AllowedTools      []string // nil = every tool of the server
	// RequireApproval: "always", "never" or "" (left out: the service's default).
	RequireApproval string
	// Authorization is the OAuth access token the service sends to the server. It is
	// a secret: the encoder writes it, nothing logs it (String masks it).
	Authorization string
}

// String describes t without its authorization.
func (t MCPTool) String() string {
	auth := ""
	if t.Authorization != "" {
		auth = " authorization=[set]"
	}
	return fmt.Sprintf("mcp %s %s allowed=%q approval=%q%s", t.ServerLabel, t.ServerURL, t.AllowedTools, t.RequireApproval, auth)
}

// Session is the session configuration in dialect-neutral form. The encoder writes it
// flat (preview) or nested under type "realtime" + audio.input/output (GA). Zero
// values mean "leave out", except where a field documents otherwise.
type Session struct {
	ID           string // server-assigned (session.created/updated)
	Model        string // deployment or model name
	ExpiresAt    int64  // unix seconds (server-set); 0 = not given
	Instructions string
	Voice        string
	// Modalities: preview "modalities" (e.g. ["audio","text"]), GA "output_modalities"
	// (["audio"] or ["text"]). nil = leave out.
	Modalities     []string
	TurnDetection  TurnDetection
	NoiseReduction NoiseReduction
	// Transcription: nil = leave out; a value with Model "" = null (off).
	Transcription *Transcription
	// Tools: nil = leave out; empty non-nil = [] (clears tools).
	Tools []Tool

	// Shape is the dialect the session object was written in, as seen by Decode: GA if
	// it had "type" or an "audio" object, else preview. The encoder ignores it.
	Shape Dialect
}

// ---- client events ----

// SessionUpdate is session.update.
type SessionUpdate struct {
	EventID string
	Session Session
}

// InputAudioBufferClear is input_audio_buffer.clear (push-to-talk press).
type InputAudioBufferClear struct{ EventID string }

// InputAudioBufferCommit is input_audio_buffer.commit (push-to-talk release).
type InputAudioBufferCommit struct{ EventID string }

// ResponseCreate is response.create. Instructions and Modalities override the session
// for this response when set.
type ResponseCreate struct {
	EventID      string
	Instructions string
	Modalities   []string
}

// ResponseCancel is response.cancel (barge-in).
type ResponseCancel struct {
	EventID    string
	ResponseID string // optional
}

// OutputAudioBufferClear is output_audio_buffer.clear (WebRTC only; after response.cancel).
type OutputAudioBufferClear struct{ EventID string }

// FunctionCallOutput is conversation.item.create with a function_call_output item: the
// result of the function call CallID, for the model (the same in both dialects). Decode
// returns it only for items of that type; other conversation.item.create events come
// back as Unknown.
type FunctionCallOutput struct {
	EventID string
	CallID  string
	Output  string // JSON text (or plain text) for the model
}

// MCPApprovalResponse is conversation.item.create with an mcp_approval_response item:
// the client's answer to the service's mcp_approval_request ApprovalRequestID (GA
// dialect; the Realtime MCP guide and the RealtimeMCPApprovalResponse item schema).
// Reason is optional (left out when "").
type MCPApprovalResponse struct {
	EventID           string
	ApprovalRequestID string
	Approve           bool
	Reason            string
}

// ---- server events ----

// SessionCreated is session.created, the first server event.
type SessionCreated struct {
	EventID string
	Session Session
}

// SessionUpdated is session.updated, the reply to session.update.
type SessionUpdated struct {
	EventID string
	Session Session
}

// InputAudioBufferCommitted is input_audio_buffer.committed.
type InputAudioBufferCommitted struct {
	EventID        string
	ItemID         string
	PreviousItemID string
}

// InputAudioBufferCleared is input_audio_buffer.cleared.
type InputAudioBufferCleared struct{ EventID string }

// SpeechStarted is input_audio_buffer.speech_started (server VAD).
type SpeechStarted struct {
	EventID      string
	ItemID       string
	AudioStartMS int
}

// SpeechStopped is input_audio_buffer.speech_stopped (server VAD).
type SpeechStopped struct {
	EventID    string
	ItemID     string
	AudioEndMS int
}

// ConversationItemCreated is conversation.item.created (only the ids are kept).
type ConversationItemCreated struct {
	EventID        string
	ItemID         string
	PreviousItemID string
	Role           string
}

// Response is the response object of response.created and response.done.
type Response struct {
	ID     string
	Status ResponseStatus
	// StatusReason: turn_detected / client_cancelled (cancelled),
	// max_output_tokens / content_filter (incomplete), or the error code (failed).
	StatusReason string
	// Output: the response's output items (response.done); nil when there are none.
	Output []OutputItem
}

// OutputItem is one item of a response's output (response.output_item.done and
// response.done's output). Only the fields of message, function_call and the
// server-side MCP items (mcp_approval_request, mcp_call) that a client acts on are kept.
type OutputItem struct {
	ID        string
	Type      string // "message", "function_call", "mcp_approval_request", "mcp_call", ...
	Status    string // "completed", "incomplete", ...
	Role      string // message items
	CallID    string // function_call items
	Name      string // function_call and MCP items: the tool's name
	Arguments string // function_call and MCP items: the arguments as JSON text
	// ServerLabel: MCP items, the server_label of the session's type "mcp" tool.
	ServerLabel string
	// Output: mcp_call items, the tool's output text.
	Output string
	// ApprovalRequestID: mcp_call items that ran after an approval.
	ApprovalRequestID string
	// ErrorType: mcp_call items that failed, the error object's type
	// (protocol_error, tool_execution_error, http_error; "error" if it has none). The
	// error's message is not kept: it may quote the server's answer.
	ErrorType string
}

// FunctionCallArgumentsDone is response.function_call_arguments.done: the model has
// finished a function call's arguments. Name is set by services that send it (GA);
// otherwise response.output_item.done carries it.
type FunctionCallArgumentsDone struct {
	EventID     string
	ResponseID  string
	ItemID      string
	OutputIndex int
	CallID      string
	Name        string
	Arguments   string // JSON text
}

// OutputItemDone is response.output_item.done: one output item of a response is
// complete (a function_call item carries the call's name and arguments).
type OutputItemDone struct {
	EventID     string
	ResponseID  string
	OutputIndex int
	Item        OutputItem
}

// ConversationItemDone is conversation.item.done (GA): an item of the conversation is
// complete. Item keeps the fields of OutputItem (an mcp_approval_request comes this way
// too, besides response.output_item.done).
type ConversationItemDone struct {
	EventID        string
	PreviousItemID string
	Item           OutputItem
}

// MCPListToolsFailed is mcp_list_tools.failed: the service could not list the tools of
// a server-side MCP server (ItemID is its mcp_list_tools item).
type MCPListToolsFailed struct {
	EventID string
	ItemID  string
}

// MCPCallFailed is response.mcp_call.failed: a server-side MCP tool call failed
// (ItemID is its mcp_call item, whose response.output_item.done says more).
type MCPCallFailed struct {
	EventID     string
	ResponseID  string
	ItemID      string
	OutputIndex int
}

// ResponseCreated is response.created.
type ResponseCreated struct {
	EventID  string
	Response Response
}

// ResponseDone is response.done; always sent, also for cancelled responses.
type ResponseDone struct {
	EventID  string
	Response Response
}

// TranscriptDelta is response.output_audio_transcript.delta (GA) /
// response.audio_transcript.delta (preview): assistant speech as text.
type TranscriptDelta struct {
	EventID      string
	ResponseID   string
	ItemID       string
	OutputIndex  int
	ContentIndex int
	Delta        string
}

// TranscriptDone is response.output_audio_transcript.done / response.audio_transcript.done.
type TranscriptDone struct {
	EventID      string
	ResponseID   string
	ItemID       string
	OutputIndex  int
	ContentIndex int
	Transcript   string
}

// TextDelta is response.output_text.delta / response.text.delta.
type TextDelta struct {
	EventID      string
	ResponseID   string
	ItemID       string
	OutputIndex  int
	ContentIndex int
	Delta        string
}

// TextDone is response.output_text.done / response.text.done.
type TextDone struct {
	EventID      string
	ResponseID   string
	ItemID       string
	OutputIndex  int
	ContentIndex int
	Text         string
}

// OutputAudioBufferStarted is output_audio_buffer.started: the server began sending
// RTP audio for a response.
type OutputAudioBufferStarted struct {
	EventID    string
	ResponseID string
}

// OutputAudioBufferStopped is output_audio_buffer.stopped: the server's audio buffer
// drained. Not sent for responses without audio.
type OutputAudioBufferStopped struct {
	EventID    string
	ResponseID string
}

// OutputAudioBufferCleared is output_audio_buffer.cleared (barge-in or clear).
type OutputAudioBufferCleared struct {
	EventID    string
	ResponseID string
}

// InputTranscriptionDelta is conversation.item.input_audio_transcription.delta.
type InputTranscriptionDelta struct {
	EventID      string
	ItemID       string
	ContentIndex int
	Delta        string
}

// InputTranscriptionCompleted is conversation.item.input_audio_transcription.completed:
// what the user said, as text.
type InputTranscriptionCompleted struct {
	EventID      string
	ItemID       string
	ContentIndex int
	Transcript   string
}

// InputTranscriptionFailed is conversation.item.input_audio_transcription.failed.
type InputTranscriptionFailed struct {
	EventID      string
	ItemID       string
	ContentIndex int
	Error        ErrorInfo
}

// ErrorInfo is the error object of an error event.
type ErrorInfo struct {
	Type          string // invalid_request_error, server_error, ...
	Code          string
	Message       string
	Param         string
	ClientEventID string // event_id of the client event that caused it
}

// Error is the server's error event. Most errors are recoverable.
type Error struct {
	EventID string
	Error   ErrorInfo
}

// RateLimit is one entry of rate_limits.updated.
type RateLimit struct {
	Name         string  `json:"name"`          // "requests" or "tokens"
	Limit        int     `json:"limit"`         // the maximum allowed
	Remaining    int     `json:"remaining"`     // what is left before the limit
	ResetSeconds float64 `json:"reset_seconds"` // seconds until it resets
}

// RateLimitsUpdated is sent by the service at the start of each response.
type RateLimitsUpdated struct {
	EventID    string
	RateLimits []RateLimit
}

// Unknown is an event whose type this package does not model. Callers log Name at
// debug and ignore it.
type Unknown struct {
	EventID string
	Name    string // the wire "type"
}

// Type methods.

func (SessionUpdate) Type() Type               { return TypeSessionUpdate }
func (InputAudioBufferClear) Type() Type       { return TypeInputAudioBufferClear }
func (InputAudioBufferCommit) Type() Type      { return TypeInputAudioBufferCommit }
func (ResponseCreate) Type() Type              { return TypeResponseCreate }
func (ResponseCancel) Type() Type              { return TypeResponseCancel }
func (OutputAudioBufferClear) Type() Type      { return TypeOutputAudioBufferClear }
func (FunctionCallOutput) Type() Type          { return TypeFunctionCallOutput }
func (MCPApprovalResponse) Type() Type         { return TypeMCPApprovalResponse }
func (MCPListToolsFailed) Type() Type          { return TypeMCPListToolsFailed }
func (MCPCallFailed) Type() Type               { return TypeMCPCallFailed }
func (ConversationItemDone) Type() Type        { return TypeConversationItemDone }
func (FunctionCallArgumentsDone) Type() Type   { return TypeFunctionCallArgumentsDone }
func (OutputItemDone) Type() Type              { return TypeOutputItemDone }
func (SessionCreated) Type() Type              { return TypeSessionCreated }
func (SessionUpdated) Type() Type              { return TypeSessionUpdated }
func (InputAudioBufferCommitted) Type() Type   { return TypeInputAudioBufferCommitted }
func (InputAudioBufferCleared) Type() Type     { return TypeInputAudioBufferCleared }
func (SpeechStarted) Type() Type               { return TypeSpeechStarted }
func (SpeechStopped) Type() Type               { return TypeSpeechStopped }
func (ConversationItemCreated) Type() Type     { return TypeConversationItemCreated }
func (ResponseCreated) Type() Type             { return TypeResponseCreated }
func (ResponseDone) Type() Type                { return TypeResponseDone }
func (TranscriptDelta) Type() Type             { return TypeTranscriptDelta }
func (TranscriptDone) Type() Type              { return TypeTranscriptDone }
func (TextDelta) Type() Type                   { return TypeTextDelta }
func (TextDone) Type() Type                    { return TypeTextDone }
func (OutputAudioBufferStarted) Type() Type    { return TypeOutputAudioBufferStarted }
func (OutputAudioBufferStopped) Type() Type    { return TypeOutputAudioBufferStopped }
func (OutputAudioBufferCleared) Type() Type    { return TypeOutputAudioBufferCleared }
func (InputTranscriptionDelta) Type() Type     { return TypeInputTranscriptionDelta }
func (InputTranscriptionCompleted) Type() Type { return TypeInputTranscriptionCompleted }
func (InputTranscriptionFailed) Type() Type    { return TypeInputTranscriptionFailed }
func (Error) Type() Type                       { return TypeError }
func (RateLimitsUpdated) Type() Type           { return TypeRateLimitsUpdated }
func (Unknown) Type() Type                     { return TypeUnknown }
