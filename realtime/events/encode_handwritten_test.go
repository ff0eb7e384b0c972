package events

import (
	"errors"
	"fmt"
)

// This file is the hand-written per-dialect encoder that encode.go replaced (issue 10
// item 9), kept only as the baseline of BenchmarkEncode and as the oracle of
// TestEncodeMatchesHandwritten: the typed encoder must produce the same JSON.

// marshalHandwritten returns ev encoded as one JSON message in dialect d.
func marshalHandwritten(d Dialect, ev Event) ([]byte, error) {
	return appendHandwritten(make([]byte, 0, 256), d, ev)
}

// appendHandwritten appends ev encoded in dialect d to dst and returns the extended buffer. It
// does not allocate beyond growing dst. On error dst is returned unchanged.
func appendHandwritten(dst []byte, d Dialect, ev Event) ([]byte, error) {
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
	w := jw{b: dst}
	o := w.open()
	o.str("type", t.Name(d))
	switch e := ev.(type) {
	case SessionUpdate:
		o.strOpt("event_id", e.EventID)
		s := o.obj("session")
		hwWriteSession(&s, d, &e.Session, false)
		s.close()
	case InputAudioBufferClear:
		o.strOpt("event_id", e.EventID)
	case InputAudioBufferCommit:
		o.strOpt("event_id", e.EventID)
	case ResponseCreate:
		o.strOpt("event_id", e.EventID)
		if e.Instructions != "" || e.Modalities != nil {
			r := o.obj("response")
			r.strOpt("instructions", e.Instructions)
			if e.Modalities != nil {
				if d == Preview {
					r.strs("modalities", e.Modalities)
				} else {
					r.strs("output_modalities", e.Modalities)
				}
			}
			r.close()
		}
	case ResponseCancel:
		o.strOpt("event_id", e.EventID)
		o.strOpt("response_id", e.ResponseID)
	case OutputAudioBufferClear:
		o.strOpt("event_id", e.EventID)
	case SessionCreated:
		o.strOpt("event_id", e.EventID)
		s := o.obj("session")
		hwWriteSession(&s, d, &e.Session, true)
		s.close()
	case SessionUpdated:
		o.strOpt("event_id", e.EventID)
		s := o.obj("session")
		hwWriteSession(&s, d, &e.Session, true)
		s.close()
	case InputAudioBufferCommitted:
		o.strOpt("event_id", e.EventID)
		o.strOrNull("previous_item_id", e.PreviousItemID)
		o.str("item_id", e.ItemID)
	case InputAudioBufferCleared:
		o.strOpt("event_id", e.EventID)
	case SpeechStarted:
		o.strOpt("event_id", e.EventID)
		o.int("audio_start_ms", int64(e.AudioStartMS))
		o.str("item_id", e.ItemID)
	case SpeechStopped:
		o.strOpt("event_id", e.EventID)
		o.int("audio_end_ms", int64(e.AudioEndMS))
		o.str("item_id", e.ItemID)
	case ConversationItemCreated:
		o.strOpt("event_id", e.EventID)
		o.strOrNull("previous_item_id", e.PreviousItemID)
		it := o.obj("item")
		it.str("id", e.ItemID)
		it.str("object", "realtime.item")
		it.str("type", "message")
		it.strOpt("role", e.Role)
		it.close()
	case ResponseCreated:
		o.strOpt("event_id", e.EventID)
		hwWriteResponse(&o, &e.Response)
	case ResponseDone:
		o.strOpt("event_id", e.EventID)
		hwWriteResponse(&o, &e.Response)
	case TranscriptDelta:
		o.strOpt("event_id", e.EventID)
		hwWritePart(&o, e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex)
		o.str("delta", e.Delta)
	case TranscriptDone:
		o.strOpt("event_id", e.EventID)
		hwWritePart(&o, e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex)
		o.str("transcript", e.Transcript)
	case TextDelta:
		o.strOpt("event_id", e.EventID)
		hwWritePart(&o, e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex)
		o.str("delta", e.Delta)
	case TextDone:
		o.strOpt("event_id", e.EventID)
		hwWritePart(&o, e.ResponseID, e.ItemID, e.OutputIndex, e.ContentIndex)
		o.str("text", e.Text)
	case OutputAudioBufferStarted:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
	case OutputAudioBufferStopped:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
	case OutputAudioBufferCleared:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
	case InputTranscriptionDelta:
		o.strOpt("event_id", e.EventID)
		o.str("item_id", e.ItemID)
		o.int("content_index", int64(e.ContentIndex))
		o.str("delta", e.Delta)
	case InputTranscriptionCompleted:
		o.strOpt("event_id", e.EventID)
		o.str("item_id", e.ItemID)
		o.int("content_index", int64(e.ContentIndex))
		o.str("transcript", e.Transcript)
	case InputTranscriptionFailed:
		o.strOpt("event_id", e.EventID)
		o.str("item_id", e.ItemID)
		o.int("content_index", int64(e.ContentIndex))
		hwWriteErrorInfo(&o, &e.Error)
	case Error:
		o.strOpt("event_id", e.EventID)
		hwWriteErrorInfo(&o, &e.Error)
	case FunctionCallOutput:
		o.strOpt("event_id", e.EventID)
		it := o.obj("item")
		it.str("type", "function_call_output")
		it.str("call_id", e.CallID)
		it.str("output", e.Output)
		it.close()
	case MCPApprovalResponse:
		o.strOpt("event_id", e.EventID)
		it := o.obj("item")
		it.str("type", "mcp_approval_response")
		it.str("approval_request_id", e.ApprovalRequestID)
		it.bool("approve", e.Approve)
		it.strOpt("reason", e.Reason)
		it.close()
	case ConversationItemDone:
		o.strOpt("event_id", e.EventID)
		o.strOrNull("previous_item_id", e.PreviousItemID)
		x := o.obj("item")
		hwWriteItem(&x, &e.Item)
		x.close()
	case MCPListToolsFailed:
		o.strOpt("event_id", e.EventID)
		o.str("item_id", e.ItemID)
	case MCPCallFailed:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
		o.str("item_id", e.ItemID)
		o.int("output_index", int64(e.OutputIndex))
	case FunctionCallArgumentsDone:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
		o.str("item_id", e.ItemID)
		o.int("output_index", int64(e.OutputIndex))
		o.str("call_id", e.CallID)
		o.strOpt("name", e.Name)
		o.str("arguments", e.Arguments)
	case OutputItemDone:
		o.strOpt("event_id", e.EventID)
		o.str("response_id", e.ResponseID)
		o.int("output_index", int64(e.OutputIndex))
		x := o.obj("item")
		hwWriteItem(&x, &e.Item)
		x.close()
	case RateLimitsUpdated:
		o.strOpt("event_id", e.EventID)
		o.key("rate_limits")
		o.w.b = append(o.w.b, '[')
		for i, r := range e.RateLimits {
			if i > 0 {
				o.w.b = append(o.w.b, ',')
			}
			x := o.w.open()
			x.str("name", r.Name)
			x.int("limit", int64(r.Limit))
			x.int("remaining", int64(r.Remaining))
			x.float("reset_seconds", r.ResetSeconds)
			x.close()
		}
		o.w.b = append(o.w.b, ']')
	default:
		return dst, fmt.Errorf("events: cannot encode %T (use the value types of package events)", ev)
	}
	o.close()
	if w.err != nil {
		return dst, fmt.Errorf("events: encode %s: %w", t, w.err)
	}
	return w.b, nil
}

func hwWritePart(o *obj, responseID, itemID string, outputIndex, contentIndex int) {
	o.str("response_id", responseID)
	o.str("item_id", itemID)
	o.int("output_index", int64(outputIndex))
	o.int("content_index", int64(contentIndex))
}

func hwWriteErrorInfo(o *obj, e *ErrorInfo) {
	x := o.obj("error")
	x.str("type", e.Type)
	x.strOrNull("code", e.Code)
	x.str("message", e.Message)
	x.strOrNull("param", e.Param)
	x.strOrNull("event_id", e.ClientEventID)
	x.close()
}

func hwWriteResponse(o *obj, r *Response) {
	x := o.obj("response")
	x.str("object", "realtime.response")
	x.str("id", r.ID)
	st := r.Status
	if st == StatusUnknown {
		st = StatusInProgress
	}
	x.str("status", st.String())
	switch st {
	case StatusCancelled, StatusIncomplete:
		d := x.obj("status_details")
		d.str("type", st.String())
		d.strOrNull("reason", r.StatusReason)
		d.close()
	case StatusFailed:
		d := x.obj("status_details")
		d.str("type", st.String())
		e := d.obj("error")
		e.str("type", "server_error")
		e.strOrNull("code", r.StatusReason)
		e.close()
		d.close()
	default:
		x.null("status_details")
	}
	x.key("output")
	x.w.b = append(x.w.b, '[')
	for i := range r.Output {
		if i > 0 {
			x.w.b = append(x.w.b, ',')
		}
		it := x.w.open()
		hwWriteItem(&it, &r.Output[i])
		it.close()
	}
	x.w.b = append(x.w.b, ']')
	x.close()
}

func hwWriteItem(o *obj, i *OutputItem) {
	o.str("id", i.ID)
	o.str("object", "realtime.item")
	o.str("type", i.Type)
	o.strOpt("status", i.Status)
	o.strOpt("role", i.Role)
	o.strOpt("call_id", i.CallID)
	o.strOpt("name", i.Name)
	o.strOpt("arguments", i.Arguments)
	o.strOpt("server_label", i.ServerLabel)
	o.strOpt("output", i.Output)
	o.strOpt("approval_request_id", i.ApprovalRequestID)
	if i.ErrorType != "" {
		x := o.obj("error")
		x.str("type", i.ErrorType)
		x.close()
	}
}

// hwWriteSession writes the session object's fields (without braces) in dialect d.
// server adds the server-side fields (object, id, expires_at).
func hwWriteSession(o *obj, d Dialect, s *Session, server bool) {
	if d == GA {
		o.str("type", "realtime")
	}
	if server {
		o.str("object", "realtime.session")
		o.strOpt("id", s.ID)
	}
	o.strOpt("model", s.Model)
	if server {
		o.int("expires_at", s.ExpiresAt)
	}
	o.strOpt("instructions", s.Instructions)
	if s.Modalities != nil {
		if d == Preview {
			o.strs("modalities", s.Modalities)
		} else {
			o.strs("output_modalities", s.Modalities)
		}
	}
	if d == Preview {
		o.strOpt("voice", s.Voice)
		hwWriteTurnDetection(o, "turn_detection", &s.TurnDetection)
		hwWriteNoise(o, "input_audio_noise_reduction", s.NoiseReduction)
		hwWriteTranscription(o, "input_audio_transcription", s.Transcription)
	} else {
		hasIn := s.TurnDetection.Type != TurnDetectionUnset || s.NoiseReduction != NoiseReductionUnset || s.Transcription != nil
		if hasIn || s.Voice != "" {
			a := o.obj("audio")
			if hasIn {
				in := a.obj("input")
				hwWriteNoise(&in, "noise_reduction", s.NoiseReduction)
				hwWriteTranscription(&in, "transcription", s.Transcription)
				hwWriteTurnDetection(&in, "turn_detection", &s.TurnDetection)
				in.close()
			}
			if s.Voice != "" {
				out := a.obj("output")
				out.str("voice", s.Voice)
				out.close()
			}
			a.close()
		}
	}
	if s.Tools != nil {
		o.key("tools")
		o.w.b = append(o.w.b, '[')
		for i := range s.Tools {
			if i > 0 {
				o.w.b = append(o.w.b, ',')
			}
			t := o.w.open()
			t.str("type", "function")
			t.str("name", s.Tools[i].Name)
			t.strOpt("description", s.Tools[i].Description)
			if s.Tools[i].Parameters != nil {
				t.raw("parameters", s.Tools[i].Parameters)
			} else {
				t.raw("parameters", hwEmptySchema)
			}
			t.close()
		}
		o.w.b = append(o.w.b, ']')
	}
}

var hwEmptySchema = []byte(`{"type":"object","properties":{}}`)

func hwWriteTurnDetection(o *obj, k string, td *TurnDetection) {
	switch td.Type {
	case TurnDetectionUnset:
		return
	case TurnDetectionNone:
		o.null(k)
		return
	}
	x := o.obj(k)
	x.str("type", td.Type.String())
	switch td.Type {
	case TurnDetectionServerVAD:
		if td.Threshold != 0 {
			x.float("threshold", td.Threshold)
		}
		if td.PrefixPaddingMS != 0 {
			x.int("prefix_padding_ms", int64(td.PrefixPaddingMS))
		}
		if td.SilenceDurationMS != 0 {
			x.int("silence_duration_ms", int64(td.SilenceDurationMS))
		}
	case TurnDetectionSemanticVAD:
		if td.Eagerness != EagernessUnset {
			x.str("eagerness", td.Eagerness.String())
		}
	default:
		if x.w.err == nil {
			x.w.err = fmt.Errorf("unknown turn detection %v", td.Type)
		}
	}
	if td.CreateResponse != nil {
		x.bool("create_response", *td.CreateResponse)
	}
	if td.InterruptResponse != nil {
		x.bool("interrupt_response", *td.InterruptResponse)
	}
	x.close()
}

func hwWriteNoise(o *obj, k string, n NoiseReduction) {
	switch n {
	case NoiseReductionUnset:
	case NoiseReductionOff:
		o.null(k)
	case NoiseReductionNearField, NoiseReductionFarField:
		x := o.obj(k)
		x.str("type", n.String())
		x.close()
	default:
		if o.w.err == nil {
			o.w.err = fmt.Errorf("unknown noise reduction %v", n)
		}
	}
}

func hwWriteTranscription(o *obj, k string, t *Transcription) {
	if t == nil {
		return
	}
	if t.Model == "" {
		o.null(k)
		return
	}
	x := o.obj(k)
	x.str("model", t.Model)
	x.strOpt("language", t.Language)
	x.strOpt("prompt", t.Prompt)
	x.close()
}

// appendSessionHandwritten appends s as a session object in dialect d. server adds the fields only
// the server writes (object, id, expires_at).
func appendSessionHandwritten(dst []byte, d Dialect, s Session, server bool) ([]byte, error) {
	if d != GA && d != Preview {
		return dst, fmt.Errorf("events: unknown dialect %v", d)
	}
	w := jw{b: dst}
	o := w.open()
	hwWriteSession(&o, d, &s, server)
	o.close()
	if w.err != nil {
		return dst, fmt.Errorf("events: encode session: %w", w.err)
	}
	return w.b, nil
}
