package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by Decode's error when the input is not a JSON object with a
// string "type", or a known event has fields of the wrong JSON type.
var ErrMalformed = errors.New("malformed event")

// wire is the union of the fields of every modelled event; one json.Unmarshal fills it.
type wire struct {
	Type           string          `json:"type"`
	EventID        string          `json:"event_id"`
	ItemID         string          `json:"item_id"`
	PreviousItemID string          `json:"previous_item_id"`
	ResponseID     string          `json:"response_id"`
	OutputIndex    int             `json:"output_index"`
	ContentIndex   int             `json:"content_index"`
	Delta          string          `json:"delta"`
	Transcript     string          `json:"transcript"`
	Text           string          `json:"text"`
	AudioStartMS   int             `json:"audio_start_ms"`
	AudioEndMS     int             `json:"audio_end_ms"`
	Session        json.RawMessage `json:"session"`
	Response       *wireResponse   `json:"response"`
	Error          *wireError      `json:"error"`
	Item           *wireItem       `json:"item"`
	RateLimits     []wireRateLimit `json:"rate_limits"`
	CallID         string          `json:"call_id"`
	Name           string          `json:"name"`
	Arguments      string          `json:"arguments"`
}

type wireRateLimit struct {
	Name         string  `json:"name"`
	Limit        int     `json:"limit"`
	Remaining    int     `json:"remaining"`
	ResetSeconds float64 `json:"reset_seconds"`
}

type wireResponse struct {
	ID               string     `json:"id"`
	Status           string     `json:"status"`
	Instructions     string     `json:"instructions"`
	Modalities       []string   `json:"modalities"`
	OutputModalities []string   `json:"output_modalities"`
	Output           []wireItem `json:"output"`
	StatusDetails    *struct {
		Reason string     `json:"reason"`
		Error  *wireError `json:"error"`
	} `json:"status_details"`
}

type wireError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param"`
	EventID string `json:"event_id"`
}

type wireItem struct {
	ID                string          `json:"id"`
	Type              string          `json:"type"`
	Status            string          `json:"status"`
	Role              string          `json:"role"`
	CallID            string          `json:"call_id"`
	Name              string          `json:"name"`
	Arguments         string          `json:"arguments"`
	Output            *string         `json:"output"` // null in an mcp_call that failed
	ServerLabel       string          `json:"server_label"`
	ApprovalRequestID string          `json:"approval_request_id"`
	Approve           *bool           `json:"approve"`
	Reason            *string         `json:"reason"`
	Error             json.RawMessage `json:"error"` // mcp_call: an object, or null
}

func (i *wireItem) output() string {
	if i == nil || i.Output == nil {
		return ""
	}
	return *i.Output
}

func (i *wireItem) outputItem() OutputItem {
	if i == nil {
		return OutputItem{}
	}
	o := OutputItem{ID: i.ID, Type: i.Type, Status: i.Status, Role: i.Role, CallID: i.CallID, Name: i.Name, Arguments: i.Arguments,
		ServerLabel: i.ServerLabel, Output: i.output(), ApprovalRequestID: i.ApprovalRequestID}
	if len(i.Error) > 0 && !isNull(i.Error) {
		var e struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(i.Error, &e) != nil || e.Type == "" {
			e.Type = "error"
		}
		o.ErrorType = e.Type
	}
	return o
}

func (e *wireError) info() ErrorInfo {
	if e == nil {
		return ErrorInfo{}
	}
	return ErrorInfo{Type: e.Type, Code: e.Code, Message: e.Message, Param: e.Param, ClientEventID: e.EventID}
}

// Decode parses one data-channel message of either dialect. Unknown event types come
// back as Unknown with a nil error; input that is not an event is an error wrapping
// ErrMalformed. It never panics.
func Decode(data []byte) (Event, error) {
	var w wire
	err := json.Unmarshal(data, &w)
	t := ParseType(w.Type)
	if err != nil {
		var te *json.UnmarshalTypeError
		// A field of an event we do not model may clash with a field name we use
		// for another event; that is not the sender's fault.
		if errors.As(err, &te) && t == TypeUnknown && w.Type != "" && te.Field != "type" && te.Field != "" {
			return Unknown{EventID: w.EventID, Name: w.Type}, nil
		}
		return nil, fmt.Errorf("events: %w: %v", ErrMalformed, err)
	}
	if w.Type == "" {
		return nil, fmt.Errorf("events: %w: no \"type\"", ErrMalformed)
	}
	switch t {
	case TypeSessionUpdate, TypeSessionCreated, TypeSessionUpdated:
		var s Session
		if w.Session != nil {
			if err := decodeSession(w.Session, &s); err != nil {
				return nil, fmt.Errorf("events: %w: %s: %v", ErrMalformed, w.Type, err)
			}
		}
		switch t {
		case TypeSessionUpdate:
			return SessionUpdate{EventID: w.EventID, Session: s}, nil
		case TypeSessionCreated:
			return SessionCreated{EventID: w.EventID, Session: s}, nil
		}
		return SessionUpdated{EventID: w.EventID, Session: s}, nil
	case TypeInputAudioBufferClear:
		return InputAudioBufferClear{EventID: w.EventID}, nil
	case TypeInputAudioBufferCommit:
		return InputAudioBufferCommit{EventID: w.EventID}, nil
	case TypeResponseCreate:
		e := ResponseCreate{EventID: w.EventID}
		if r := w.Response; r != nil {
			e.Instructions = r.Instructions
			e.Modalities = r.OutputModalities
			if e.Modalities == nil {
				e.Modalities = r.Modalities
			}
		}
		return e, nil
	case TypeResponseCancel:
		return ResponseCancel{EventID: w.EventID, ResponseID: w.ResponseID}, nil
	case TypeOutputAudioBufferClear:
		return OutputAudioBufferClear{EventID: w.EventID}, nil
	case TypeFunctionCallOutput:
		switch {
		case w.Item != nil && w.Item.Type == "function_call_output":
			return FunctionCallOutput{EventID: w.EventID, CallID: w.Item.CallID, Output: w.Item.output()}, nil
		case w.Item != nil && w.Item.Type == "mcp_approval_response":
			if w.Item.ApprovalRequestID == "" || w.Item.Approve == nil {
				return nil, fmt.Errorf("events: %w: an mcp_approval_response item needs approval_request_id and approve", ErrMalformed)
			}
			e := MCPApprovalResponse{EventID: w.EventID, ApprovalRequestID: w.Item.ApprovalRequestID, Approve: *w.Item.Approve}
			if w.Item.Reason != nil {
				e.Reason = *w.Item.Reason
			}
			return e, nil
		}
		return Unknown{EventID: w.EventID, Name: w.Type}, nil // message items etc.
	case TypeConversationItemDone:
		return ConversationItemDone{EventID: w.EventID, PreviousItemID: w.PreviousItemID, Item: w.Item.outputItem()}, nil
	case TypeMCPListToolsFailed:
		return MCPListToolsFailed{EventID: w.EventID, ItemID: w.ItemID}, nil
	case TypeMCPCallFailed:
		return MCPCallFailed{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex}, nil
	case TypeFunctionCallArgumentsDone:
		return FunctionCallArgumentsDone{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex,
			CallID: w.CallID, Name: w.Name, Arguments: w.Arguments}, nil
	case TypeOutputItemDone:
		return OutputItemDone{EventID: w.EventID, ResponseID: w.ResponseID, OutputIndex: w.OutputIndex, Item: w.Item.outputItem()}, nil
	case TypeInputAudioBufferCommitted:
		return InputAudioBufferCommitted{EventID: w.EventID, ItemID: w.ItemID, PreviousItemID: w.PreviousItemID}, nil
	case TypeInputAudioBufferCleared:
		return InputAudioBufferCleared{EventID: w.EventID}, nil
	case TypeSpeechStarted:
		return SpeechStarted{EventID: w.EventID, ItemID: w.ItemID, AudioStartMS: w.AudioStartMS}, nil
	case TypeSpeechStopped:
		return SpeechStopped{EventID: w.EventID, ItemID: w.ItemID, AudioEndMS: w.AudioEndMS}, nil
	case TypeConversationItemCreated:
		e := ConversationItemCreated{EventID: w.EventID, PreviousItemID: w.PreviousItemID}
		if w.Item != nil {
			e.ItemID, e.Role = w.Item.ID, w.Item.Role
		}
		return e, nil
	case TypeResponseCreated:
		return ResponseCreated{EventID: w.EventID, Response: w.response()}, nil
	case TypeResponseDone:
		return ResponseDone{EventID: w.EventID, Response: w.response()}, nil
	case TypeTranscriptDelta:
		return TranscriptDelta{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex, ContentIndex: w.ContentIndex, Delta: w.Delta}, nil
	case TypeTranscriptDone:
		return TranscriptDone{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex, ContentIndex: w.ContentIndex, Transcript: w.Transcript}, nil
	case TypeTextDelta:
		return TextDelta{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex, ContentIndex: w.ContentIndex, Delta: w.Delta}, nil
	case TypeTextDone:
		return TextDone{EventID: w.EventID, ResponseID: w.ResponseID, ItemID: w.ItemID, OutputIndex: w.OutputIndex, ContentIndex: w.ContentIndex, Text: w.Text}, nil
	case TypeOutputAudioBufferStarted:
		return OutputAudioBufferStarted{EventID: w.EventID, ResponseID: w.ResponseID}, nil
	case TypeOutputAudioBufferStopped:
		return OutputAudioBufferStopped{EventID: w.EventID, ResponseID: w.ResponseID}, nil
	case TypeOutputAudioBufferCleared:
		return OutputAudioBufferCleared{EventID: w.EventID, ResponseID: w.ResponseID}, nil
	case TypeInputTranscriptionDelta:
		return InputTranscriptionDelta{EventID: w.EventID, ItemID: w.ItemID, ContentIndex: w.ContentIndex, Delta: w.Delta}, nil
	case TypeInputTranscriptionCompleted:
		return InputTranscriptionCompleted{EventID: w.EventID, ItemID: w.ItemID, ContentIndex: w.ContentIndex, Transcript: w.Transcript}, nil
	case TypeInputTranscriptionFailed:
		return InputTranscriptionFailed{EventID: w.EventID, ItemID: w.ItemID, ContentIndex: w.ContentIndex, Error: w.Error.info()}, nil
	case TypeError:
		return Error{EventID: w.EventID, Error: w.Error.info()}, nil
	case TypeRateLimitsUpdated:
		e := RateLimitsUpdated{EventID: w.EventID}
		for _, r := range w.RateLimits {
			e.RateLimits = append(e.RateLimits, RateLimit(r))
		}
		return e, nil
	}
	return Unknown{EventID: w.EventID, Name: w.Type}, nil
}

func (w *wire) response() Response {
	r := w.Response
	if r == nil {
		return Response{}
	}
	out := Response{ID: r.ID, Status: parseStatus(r.Status)}
	for i := range r.Output {
		out.Output = append(out.Output, r.Output[i].outputItem())
	}
	if sd := r.StatusDetails; sd != nil {
		out.StatusReason = sd.Reason
		if out.StatusReason == "" && sd.Error != nil {
			out.StatusReason = sd.Error.Code
			if out.StatusReason == "" {
				out.StatusReason = sd.Error.Type
			}
		}
	}
	return out
}

type wireTurnDetection struct {
	Type              string  `json:"type"`
	Threshold         float64 `json:"threshold"`
	PrefixPaddingMS   int     `json:"prefix_padding_ms"`
	SilenceDurationMS int     `json:"silence_duration_ms"`
	Eagerness         string  `json:"eagerness"`
	CreateResponse    *bool   `json:"create_response"`
	InterruptResponse *bool   `json:"interrupt_response"`
}

type wireAudioIn struct {
	TurnDetection  json.RawMessage `json:"turn_detection"`
	NoiseReduction json.RawMessage `json:"noise_reduction"`
	Transcription  json.RawMessage `json:"transcription"`
}

type wireSession struct {
	Type                     *string         `json:"type"`
	ID                       string          `json:"id"`
	Model                    string          `json:"model"`
	ExpiresAt                float64         `json:"expires_at"`
	Instructions             string          `json:"instructions"`
	Voice                    json.RawMessage `json:"voice"`
	Modalities               []string        `json:"modalities"`
	OutputModalities         []string        `json:"output_modalities"`
	TurnDetection            json.RawMessage `json:"turn_detection"`
	InputAudioNoiseReduction json.RawMessage `json:"input_audio_noise_reduction"`
	InputAudioTranscription  json.RawMessage `json:"input_audio_transcription"`
	Audio                    *struct {
		Input  *wireAudioIn `json:"input"`
		Output *struct {
			Voice json.RawMessage `json:"voice"`
		} `json:"output"`
	} `json:"audio"`
	Tools []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		// type "mcp"
		ServerLabel       string          `json:"server_label"`
		ServerURL         string          `json:"server_url"`
		ServerDescription string          `json:"server_description"`
		AllowedTools      []string        `json:"allowed_tools"`
		RequireApproval   json.RawMessage `json:"require_approval"`
		Authorization     string          `json:"authorization"`
	} `json:"tools"`
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// decodeSession fills s from a session object of either shape.
func decodeSession(raw json.RawMessage, s *Session) error {
	if isNull(raw) {
		return nil
	}
	var ws wireSession
	if err := json.Unmarshal(raw, &ws); err != nil {
		return err
	}
	s.ID, s.Model, s.Instructions = ws.ID, ws.Model, ws.Instructions
	if ws.ExpiresAt > 0 && ws.ExpiresAt < 1<<62 {
		s.ExpiresAt = int64(ws.ExpiresAt)
	}
	s.Shape = Preview
	voice, td, nr, tr := ws.Voice, ws.TurnDetection, ws.InputAudioNoiseReduction, ws.InputAudioTranscription
	s.Modalities = ws.Modalities
	if ws.Type != nil || ws.Audio != nil || ws.OutputModalities != nil {
		s.Shape = GA
		if ws.OutputModalities != nil {
			s.Modalities = ws.OutputModalities
		}
		if a := ws.Audio; a != nil {
			if a.Input != nil {
				td, nr, tr = a.Input.TurnDetection, a.Input.NoiseReduction, a.Input.Transcription
			}
			if a.Output != nil && a.Output.Voice != nil {
				voice = a.Output.Voice
			}
		}
	}
	if voice != nil && !isNull(voice) {
		var v string
		if err := json.Unmarshal(voice, &v); err != nil {
			var id struct {
				ID string `json:"id"`
			}
			if err2 := json.Unmarshal(voice, &id); err2 != nil {
				return fmt.Errorf("voice: %v", err)
			}
			v = id.ID
		}
		s.Voice = v
	}
	if td != nil {
		if isNull(td) {
			s.TurnDetection.Type = TurnDetectionNone
		} else {
			var w wireTurnDetection
			if err := json.Unmarshal(td, &w); err != nil {
				return fmt.Errorf("turn_detection: %v", err)
			}
			switch w.Type {
			case "server_vad":
				s.TurnDetection.Type = TurnDetectionServerVAD
			case "semantic_vad":
				s.TurnDetection.Type = TurnDetectionSemanticVAD
			case "none", "":
				s.TurnDetection.Type = TurnDetectionNone
			}
			s.TurnDetection.Threshold = w.Threshold
			s.TurnDetection.PrefixPaddingMS = w.PrefixPaddingMS
			s.TurnDetection.SilenceDurationMS = w.SilenceDurationMS
			s.TurnDetection.Eagerness, _ = ParseEagerness(w.Eagerness)
			s.TurnDetection.CreateResponse = w.CreateResponse
			s.TurnDetection.InterruptResponse = w.InterruptResponse
		}
	}
	if nr != nil {
		s.NoiseReduction = NoiseReductionOff
		if !isNull(nr) {
			var w struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(nr, &w); err != nil {
				return fmt.Errorf("noise_reduction: %v", err)
			}
			switch w.Type {
			case "near_field":
				s.NoiseReduction = NoiseReductionNearField
			case "far_field":
				s.NoiseReduction = NoiseReductionFarField
			}
		}
	}
	if tr != nil {
		s.Transcription = &Transcription{}
		if !isNull(tr) {
			var w struct {
				Model    string `json:"model"`
				Language string `json:"language"`
				Prompt   string `json:"prompt"`
			}
			if err := json.Unmarshal(tr, &w); err != nil {
				return fmt.Errorf("transcription: %v", err)
			}
			*s.Transcription = Transcription(w)
		}
	}
	if ws.Tools != nil {
		s.Tools = make([]Tool, len(ws.Tools))
		for i, t := range ws.Tools {
			s.Tools[i] = Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters}
			if t.Type == "mcp" {
				m := &MCPTool{ServerLabel: t.ServerLabel, ServerURL: t.ServerURL, ServerDescription: t.ServerDescription,
					AllowedTools: t.AllowedTools, Authorization: t.Authorization}
				_ = json.Unmarshal(t.RequireApproval, &m.RequireApproval) // a filter object stays ""
				s.Tools[i] = Tool{MCP: m}
				continue
			}
			if isNull(t.Parameters) {
				s.Tools[i].Parameters = nil
			}
		}
	}
	return nil
}

// DecodeSession parses a session object of either shape (flat preview, or GA with
// type "realtime" and audio.input/output), as found in session.update, the mint
// endpoints' bodies and session.created/updated.
func DecodeSession(raw []byte) (Session, error) {
	var s Session
	if err := decodeSession(raw, &s); err != nil {
		return Session{}, fmt.Errorf("events: %w: session: %v", ErrMalformed, err)
	}
	return s, nil
}
