package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// The encoder maps each event to a typed wire struct and lets encoding/json write it.
// Field order in the structs is the order on the wire. Three JSON shapes need care:
// an optional field is omitempty; a field that is null when empty is a *string
// (nullable); a field that is absent, null or an object (turn_detection, noise
// reduction, transcription, status_details) is an `any` holding nil (absent), jsonNull
// or a struct.

var (
	errNonFinite = errors.New("events: NaN or infinite number")
	errBadRaw    = errors.New("events: tool parameters are not valid JSON")
)

// jsonNull is an explicit null for an `any` field that is omitempty.
var jsonNull = json.RawMessage("null")

// emptySchema is the parameters of a tool that declares none.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// nullable returns nil (null on the wire) for "", else &s.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Marshal returns ev encoded as one JSON message in dialect d.
func Marshal(d Dialect, ev Event) ([]byte, error) {
	return Append(nil, d, ev)
}

// Append appends ev encoded in dialect d to dst and returns the extended buffer. On
// error dst is returned unchanged.
func Append(dst []byte, d Dialect, ev Event) ([]byte, error) {
	if d != GA && d != Preview {
		return dst, fmt.Errorf("events: unknown dialect %v", d)
	}
	if ev == nil {
		return dst, errors.New("events: Append of a nil event")
	}
	t := ev.Type()
	if t == TypeUnknown {
		return dst, errors.New("events: cannot encode an Unknown event")
	}
	w, err := encEvent(d, head{Type: t.Name(d)}, ev)
	if err != nil {
		return dst, fmt.Errorf("events: encode %s: %w", t, err)
	}
	out, err := appendJSON(dst, w)
	if err != nil {
		return dst, fmt.Errorf("events: encode %s: %w", t, err)
	}
	return out, nil
}

// AppendSession appends s as a session object in dialect d. server adds the fields only
// the server writes (object, id, expires_at).
func AppendSession(dst []byte, d Dialect, s Session, server bool) ([]byte, error) {
	if d != GA && d != Preview {
		return dst, fmt.Errorf("events: unknown dialect %v", d)
	}
	ws, err := encSessionOf(d, &s, server)
	if err != nil {
		return dst, fmt.Errorf("events: encode session: %w", err)
	}
	out, err := appendJSON(dst, ws)
	if err != nil {
		return dst, fmt.Errorf("events: encode session: %w", err)
	}
	return out, nil
}

// appendJSON appends v's JSON to dst. It does not escape <, > and & (the service does
// not need it, and the text stays readable in logs).
func appendJSON(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

type head struct {
	Type    string `json:"type"`
	EventID string `json:"event_id,omitempty"`
}

type (
	wSession struct {
		head
		Session *encSession `json:"session"`
	}
	wResponseCreate struct {
		head
		Response *wResponseParams `json:"response,omitempty"`
	}
	wResponseParams struct {
		Instructions     string    `json:"instructions,omitempty"`
		Modalities       *[]string `json:"modalities,omitempty"`        // preview
		OutputModalities *[]string `json:"output_modalities,omitempty"` // GA
	}
	wResponseCancel struct {
		head
		ResponseID string `json:"response_id,omitempty"`
	}
	wCommitted struct {
		head
		PreviousItemID *string `json:"previous_item_id"`
		ItemID         string  `json:"item_id"`
	}
	wSpeechStarted struct {
		head
		AudioStartMS int    `json:"audio_start_ms"`
		ItemID       string `json:"item_id"`
	}
	wSpeechStopped struct {
		head
		AudioEndMS int    `json:"audio_end_ms"`
		ItemID     string `json:"item_id"`
	}
	wItemCreated struct {
		head
		PreviousItemID *string `json:"previous_item_id"`
		Item           wItem   `json:"item"`
	}
	wItem struct {
		ID     string `json:"id"`
		Object string `json:"object"`
		Type   string `json:"type"`
		Role   string `json:"role,omitempty"`
	}
	wResponse struct {
		head
		Response encResponse `json:"response"`
	}
	encResponse struct {
		Object        string        `json:"object"`
		ID            string        `json:"id"`
		Status        string        `json:"status"`
		StatusDetails any           `json:"status_details"`
		Output        []wOutputItem `json:"output"`
	}
	wOutputItem struct {
		ID                string      `json:"id"`
		Object            string      `json:"object"`
		Type              string      `json:"type"`
		Status            string      `json:"status,omitempty"`
		Role              string      `json:"role,omitempty"`
		CallID            string      `json:"call_id,omitempty"`
		Name              string      `json:"name,omitempty"`
		Arguments         string      `json:"arguments,omitempty"`
		ServerLabel       string      `json:"server_label,omitempty"`
		Output            string      `json:"output,omitempty"`
		ApprovalRequestID string      `json:"approval_request_id,omitempty"`
		Error             *wItemError `json:"error,omitempty"`
	}
	wItemError struct {
		Type string `json:"type"`
	}
	wMCPApprovalResponse struct {
		head
		Item wMCPApprovalItem `json:"item"`
	}
	wMCPApprovalItem struct {
		Type              string `json:"type"`
		ApprovalRequestID string `json:"approval_request_id"`
		Approve           bool   `json:"approve"`
		Reason            string `json:"reason,omitempty"`
	}
	wItemIDEvent struct {
		head
		ItemID string `json:"item_id"`
	}
	wConversationItemDone struct {
		head
		PreviousItemID *string     `json:"previous_item_id"`
		Item           wOutputItem `json:"item"`
	}
	wMCPCallFailed struct {
		head
		ResponseID  string `json:"response_id"`
		ItemID      string `json:"item_id"`
		OutputIndex int    `json:"output_index"`
	}
	wFunctionCallOutput struct {
		head
		Item wFunctionOutputItem `json:"item"`
	}
	wFunctionOutputItem struct {
		Type   string `json:"type"`
		CallID string `json:"call_id"`
		Output string `json:"output"`
	}
	wArgumentsDone struct {
		head
		ResponseID  string `json:"response_id"`
		ItemID      string `json:"item_id"`
		OutputIndex int    `json:"output_index"`
		CallID      string `json:"call_id"`
		Name        string `json:"name,omitempty"`
		Arguments   string `json:"arguments"`
	}
	wOutputItemDone struct {
		head
		ResponseID  string      `json:"response_id"`
		OutputIndex int         `json:"output_index"`
		Item        wOutputItem `json:"item"`
	}
	wStatusDetails struct {
		Type   string  `json:"type"`
		Reason *string `json:"reason"`
	}
	wFailedDetails struct {
		Type  string `json:"type"`
		Error struct {
			Type string  `json:"type"`
			Code *string `json:"code"`
		} `json:"error"`
	}
	part struct {
		ResponseID   string `json:"response_id"`
		ItemID       string `json:"item_id"`
		OutputIndex  int    `json:"output_index"`
		ContentIndex int    `json:"content_index"`
	}
	wDelta struct {
		head
		part
		Delta string `json:"delta"`
	}
	wTranscriptDone struct {
		head
		part
		Transcript string `json:"transcript"`
	}
	wTextDone struct {
		head
		part
		Text string `json:"text"`
	}
	wOutputBuffer struct {
		head
		ResponseID string `json:"response_id"`
	}
	wInputDelta struct {
		head
		ItemID       string `json:"item_id"`
		ContentIndex int    `json:"content_index"`
		Delta        string `json:"delta"`
	}
	wInputCompleted struct {
		head
		ItemID       string `json:"item_id"`
		ContentIndex int    `json:"content_index"`
		Transcript   string `json:"transcript"`
	}
	wInputFailed struct {
		head
		ItemID       string     `json:"item_id"`
		ContentIndex int        `json:"content_index"`
		Error        wErrorInfo `json:"error"`
	}
	wError struct {
		head
		Error wErrorInfo `json:"error"`
	}
	wRateLimits struct {
		head
		RateLimits []wireRateLimit `json:"rate_limits"`
	}
	wErrorInfo struct {
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
		EventID *string `json:"event_id"`
	}
)

// encEvent returns the wire struct of ev with its header h.
func encEvent(d Dialect, h head, ev Event) (any, error) {
	switch e := ev.(type) {
	case SessionUpdate:
		h.EventID = e.EventID
		s, err := encSessionOf(d, &e.Session, false)
		return wSession{h, s}, err
	case SessionCreated:
		h.EventID = e.EventID
		s, err := encSessionOf(d, &e.Session, true)
		return wSession{h, s}, err
	case SessionUpdated:
		h.EventID = e.EventID
		s, err := encSessionOf(d, &e.Session, true)
		return wSession{h, s}, err
	case InputAudioBufferClear:
		h.EventID = e.EventID
		return h, nil
	case InputAudioBufferCommit:
		h.EventID = e.EventID
		return h, nil
	case OutputAudioBufferClear:
		h.EventID = e.EventID
		return h, nil
	case InputAudioBufferCleared:
		h.EventID = e.EventID
		return h, nil
	case ResponseCreate:
		h.EventID = e.EventID
		w := wResponseCreate{head: h}
		if e.Instructions != "" || e.Modalities != nil {
			w.Response = &wResponseParams{Instructions: e.Instructions}
			if e.Modalities != nil {
				if d == Preview {
					w.Response.Modalities = &e.Modalities
				} else {
					w.Response.OutputModalities = &e.Modalities
				}
			}
		}
		return w, nil
	case ResponseCancel:
		h.EventID = e.EventID
		return wResponseCancel{h, e.ResponseID}, nil
	case FunctionCallOutput:
		h.EventID = e.EventID
		return wFunctionCallOutput{h, wFunctionOutputItem{"function_call_output", e.CallID, e.Output}}, nil
	case MCPApprovalResponse:
		h.EventID = e.EventID
		return wMCPApprovalResponse{h, wMCPApprovalItem{"mcp_approval_response", e.ApprovalRequestID, e.Approve, e.Reason}}, nil
	case ConversationItemDone:
		h.EventID = e.EventID
		return wConversationItemDone{h, nullable(e.PreviousItemID), encItemOf(&e.Item)}, nil
	case MCPListToolsFailed:
		h.EventID = e.EventID
		return wItemIDEvent{h, e.ItemID}, nil
	case MCPCallFailed:
		h.EventID = e.EventID
		return wMCPCallFailed{h, e.ResponseID, e.ItemID, e.OutputIndex}, nil
	case FunctionCallArgumentsDone:
		h.EventID = e.EventID
		return wArgumentsDone{h, e.ResponseID, e.ItemID, e.OutputIndex, e.CallID, e.Name, e.Arguments}, nil
	case OutputItemDone:
		h.EventID = e.EventID
		return wOutputItemDone{h, e.ResponseID, e.OutputIndex, encItemOf(&e.Item)}, nil
	case InputAudioBufferCommitted:
		h.EventID = e.EventID
		return wCommitted{h, nullable(e.PreviousItemID), e.ItemID}, nil
	case SpeechStarted:
		h.EventID = e.EventID
		return wSpeechStarted{h, e.AudioStartMS, e.ItemID}, nil
	case SpeechStopped:
		h.EventID = e.EventID
		return wSpeechStopped{h, e.AudioEndMS, e.ItemID}, nil
	case ConversationItemCreated:
		h.EventID = e.EventID
		return wItemCreated{h, nullable(e.PreviousItemID), wItem{ID: e.ItemID, Object: "realtime.item", Type: "message", Role: e.Role}}, nil
	case ResponseCreated:
		h.EventID = e.EventID
		return wResponse{h, encResponseOf(&e.Response)}, nil
	case ResponseDone:
		h.EventID = e.EventID
		return wResponse{h, encResponseOf(&e.Response)}, nil
	case TranscriptDelta:
		h.EventID = e.EventID
		return wDelta{h, part{e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex}, e.Delta}, nil
	case TranscriptDone:
		h.EventID = e.EventID
		return wTranscriptDone{h, part{e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex}, e.Transcript}, nil
	case TextDelta:
		h.EventID = e.EventID
		return wDelta{h, part{e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex}, e.Delta}, nil
	case TextDone:
		h.EventID = e.EventID
		return wTextDone{h, part{e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex}, e.Text}, nil
	case OutputAudioBufferStarted:
		h.EventID = e.EventID
		return wOutputBuffer{h, e.ResponseID}, nil
	case OutputAudioBufferStopped:
		h.EventID = e.EventID
		return wOutputBuffer{h, e.ResponseID}, nil
	case OutputAudioBufferCleared:
		h.EventID = e.EventID
		return wOutputBuffer{h, e.ResponseID}, nil
	case InputTranscriptionDelta:
		h.EventID = e.EventID
		return wInputDelta{h, e.ItemID, e.ContentIndex, e.Delta}, nil
	case InputTranscriptionCompleted:
		h.EventID = e.EventID
		return wInputCompleted{h, e.ItemID, e.ContentIndex, e.Transcript}, nil
	case InputTranscriptionFailed:
		h.EventID = e.EventID
		return wInputFailed{h, e.ItemID, e.ContentIndex, encErrorOf(&e.Error)}, nil
	case Error:
		h.EventID = e.EventID
		return wError{h, encErrorOf(&e.Error)}, nil
	case RateLimitsUpdated:
		h.EventID = e.EventID
		w := wRateLimits{head: h, RateLimits: make([]wireRateLimit, len(e.RateLimits))}
		for i, r := range e.RateLimits {
			w.RateLimits[i] = wireRateLimit(r)
		}
		return w, nil
	}
	return nil, fmt.Errorf("cannot encode %T (use the value types of package events)", ev)
}

func encErrorOf(e *ErrorInfo) wErrorInfo {
	return wErrorInfo{Type: e.Type, Code: nullable(e.Code), Message: e.Message, Param: nullable(e.Param), EventID: nullable(e.ClientEventID)}
}

func encItemOf(i *OutputItem) wOutputItem {
	w := wOutputItem{ID: i.ID, Object: "realtime.item", Type: i.Type, Status: i.Status, Role: i.Role, CallID: i.CallID, Name: i.Name, Arguments: i.Arguments,
		ServerLabel: i.ServerLabel, Output: i.Output, ApprovalRequestID: i.ApprovalRequestID}
	if i.ErrorType != "" {
		w.Error = &wItemError{Type: i.ErrorType}
	}
	return w
}

func encResponseOf(r *Response) encResponse {
	st := r.Status
	if st == StatusUnknown {
		st = StatusInProgress
	}
	w := encResponse{Object: "realtime.response", ID: r.ID, Status: st.String(), Output: []wOutputItem{}}
	for i := range r.Output {
		w.Output = append(w.Output, encItemOf(&r.Output[i]))
	}
	switch st {
	case StatusCancelled, StatusIncomplete:
		w.StatusDetails = wStatusDetails{Type: st.String(), Reason: nullable(r.StatusReason)}
	case StatusFailed:
		f := wFailedDetails{Type: st.String()}
		f.Error.Type, f.Error.Code = "server_error", nullable(r.StatusReason)
		w.StatusDetails = f
	}
	return w
}

// encSession is the session object. The GA dialect nests the audio settings under
// audio.input/output; the preview dialect has them flat.
type encSession struct {
	Type             string    `json:"type,omitempty"`   // GA: "realtime"
	Object           string    `json:"object,omitempty"` // server
	ID               string    `json:"id,omitempty"`     // server
	Model            string    `json:"model,omitempty"`
	ExpiresAt        *int64    `json:"expires_at,omitempty"` // server
	Instructions     string    `json:"instructions,omitempty"`
	Modalities       *[]string `json:"modalities,omitempty"`        // preview
	OutputModalities *[]string `json:"output_modalities,omitempty"` // GA
	Voice            string    `json:"voice,omitempty"`             // preview
	TurnDetection    any       `json:"turn_detection,omitempty"`    // preview
	NoiseReduction   any       `json:"input_audio_noise_reduction,omitempty"`
	Transcription    any       `json:"input_audio_transcription,omitempty"`
	Audio            *wAudio   `json:"audio,omitempty"` // GA
	Tools            *[]any    `json:"tools,omitempty"` // wTool or wMCPTool
}

type wAudio struct {
	Input  *wAudioInput  `json:"input,omitempty"`
	Output *wAudioOutput `json:"output,omitempty"`
}

type wAudioInput struct {
	NoiseReduction any `json:"noise_reduction,omitempty"`
	Transcription  any `json:"transcription,omitempty"`
	TurnDetection  any `json:"turn_detection,omitempty"`
}

type wAudioOutput struct {
	Voice string `json:"voice"`
}

type wTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type wMCPTool struct {
	Type              string   `json:"type"` // "mcp"
	ServerLabel       string   `json:"server_label"`
	ServerURL         string   `json:"server_url"`
	ServerDescription string   `json:"server_description,omitempty"`
	AllowedTools      []string `json:"allowed_tools,omitempty"`
	RequireApproval   string   `json:"require_approval,omitempty"`
	Authorization     string   `json:"authorization,omitempty"`
}

// ErrMCPPreview is returned when a session with a server-side MCP tool is encoded in
// the preview dialect, which has no such tool.
var ErrMCPPreview = errors.New("events: server-side MCP tools (type \"mcp\") exist only in the GA dialect; use a GA profile or remove [[tools.mcp_remote]]")

type wTurnDetection struct {
	Type              string  `json:"type"`
	Threshold         float64 `json:"threshold,omitempty"`
	PrefixPaddingMS   int     `json:"prefix_padding_ms,omitempty"`
	SilenceDurationMS int     `json:"silence_duration_ms,omitempty"`
	Eagerness         string  `json:"eagerness,omitempty"`
	CreateResponse    *bool   `json:"create_response,omitempty"`
	InterruptResponse *bool   `json:"interrupt_response,omitempty"`
}

type wTypeOnly struct {
	Type string `json:"type"`
}

type wTranscription struct {
	Model    string `json:"model"`
	Language string `json:"language,omitempty"`
	Prompt   string `json:"prompt,omitempty"`
}

func encSessionOf(d Dialect, s *Session, server bool) (*encSession, error) {
	w := &encSession{Model: s.Model, Instructions: s.Instructions}
	if d == GA {
		w.Type = "realtime"
	}
	if server {
		w.Object, w.ID = "realtime.session", s.ID
		exp := s.ExpiresAt
		w.ExpiresAt = &exp
	}
	if s.Modalities != nil {
		if d == Preview {
			w.Modalities = &s.Modalities
		} else {
			w.OutputModalities = &s.Modalities
		}
	}
	td, err := turnDetectionOf(&s.TurnDetection)
	if err != nil {
		return nil, err
	}
	nr, err := noiseOf(s.NoiseReduction)
	if err != nil {
		return nil, err
	}
	tr := transcriptionOf(s.Transcription)
	if d == Preview {
		w.Voice, w.TurnDetection, w.NoiseReduction, w.Transcription = s.Voice, td, nr, tr
	} else {
		hasIn := s.TurnDetection.Type != TurnDetectionUnset || s.NoiseReduction != NoiseReductionUnset || s.Transcription != nil
		if hasIn || s.Voice != "" {
			w.Audio = &wAudio{}
			if hasIn {
				w.Audio.Input = &wAudioInput{NoiseReduction: nr, Transcription: tr, TurnDetection: td}
			}
			if s.Voice != "" {
				w.Audio.Output = &wAudioOutput{Voice: s.Voice}
			}
		}
	}
	if s.Tools != nil {
		tools := make([]any, len(s.Tools))
		for i, t := range s.Tools {
			if m := t.MCP; m != nil {
				if d != GA {
					return nil, ErrMCPPreview
				}
				tools[i] = wMCPTool{Type: "mcp", ServerLabel: m.ServerLabel, ServerURL: m.ServerURL, ServerDescription: m.ServerDescription,
					AllowedTools: m.AllowedTools, RequireApproval: m.RequireApproval, Authorization: m.Authorization}
				continue
			}
			p := json.RawMessage(t.Parameters)
			if p == nil {
				p = emptySchema
			} else if !json.Valid(p) {
				return nil, errBadRaw
			}
			tools[i] = wTool{Type: "function", Name: t.Name, Description: t.Description, Parameters: p}
		}
		w.Tools = &tools
	}
	return w, nil
}

// turnDetectionOf returns nil (absent), jsonNull (none) or the settings.
func turnDetectionOf(td *TurnDetection) (any, error) {
	switch td.Type {
	case TurnDetectionUnset:
		return nil, nil
	case TurnDetectionNone:
		return jsonNull, nil
	}
	w := wTurnDetection{Type: td.Type.String(), CreateResponse: td.CreateResponse, InterruptResponse: td.InterruptResponse}
	switch td.Type {
	case TurnDetectionServerVAD:
		if math.IsNaN(td.Threshold) || math.IsInf(td.Threshold, 0) {
			return nil, errNonFinite
		}
		w.Threshold, w.PrefixPaddingMS, w.SilenceDurationMS = td.Threshold, td.PrefixPaddingMS, td.SilenceDurationMS
	case TurnDetectionSemanticVAD:
		if td.Eagerness != EagernessUnset {
			w.Eagerness = td.Eagerness.String()
		}
	default:
		return nil, fmt.Errorf("unknown turn detection %v", td.Type)
	}
	return w, nil
}

// noiseOf returns nil (absent), jsonNull (off) or {"type":...}.
func noiseOf(n NoiseReduction) (any, error) {
	switch n {
	case NoiseReductionUnset:
		return nil, nil
	case NoiseReductionOff:
		return jsonNull, nil
	case NoiseReductionNearField, NoiseReductionFarField:
		return wTypeOnly{n.String()}, nil
	}
	return nil, fmt.Errorf("unknown noise reduction %v", n)
}

// transcriptionOf returns nil (absent), jsonNull (off: no model) or the settings.
func transcriptionOf(t *Transcription) any {
	switch {
	case t == nil:
		return nil
	case t.Model == "":
		return jsonNull
	}
	return wTranscription{Model: t.Model, Language: t.Language, Prompt: t.Prompt}
}
