package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/edgevoice/edgevoice/appliance"
)

// Request is one request line (doc.go).
type Request struct {
	V     int      `json:"v"`
	Op    string   `json:"op"`
	ID    string   `json:"id,omitempty"`
	Value *float64 `json:"value,omitempty"` // volume: the new volume 0..1
	Step  *float64 `json:"step,omitempty"`  // volume: the change -1..+1
	Text  string   `json:"text,omitempty"`  // say
}

// Response is the answer line to one request.
type Response struct {
	V      int      `json:"v"`
	OK     bool     `json:"ok"`
	Op     string   `json:"op,omitempty"`
	ID     string   `json:"id,omitempty"`
	Error  string   `json:"error,omitempty"`
	State  string   `json:"state,omitempty"`
	Volume *float64 `json:"volume,omitempty"`
	Status *Status  `json:"status,omitempty"`
}

// EventLine is one line of a subscription's stream.
type EventLine struct {
	V     int             `json:"v"`
	Event appliance.Event `json:"event"`
}

// EventLagged is the type of the last event of a subscriber that fell behind.
const EventLagged = "lagged"

// Ops lists the operations of protocol version 1.
var Ops = []string{"status", "press", "release", "tap", "cancel", "mute", "unmute", "volume", "say", "subscribe"}

// do answers one request line; a subscribe that succeeded also returns its
// subscription, which the caller streams.
func (s *Server) do(line []byte) (Response, *appliance.Subscription) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Response{V: Version, Error: "bad request: not a JSON request object: " + err.Error()}, nil
	}
	resp := Response{V: Version, Op: req.Op, ID: req.ID}
	fail := func(format string, args ...any) (Response, *appliance.Subscription) {
		resp.Error = fmt.Sprintf(format, args...)
		return resp, nil
	}
	switch {
	case req.V == 0 && req.Op == "status": // older clients sent no version
	case req.V == 0:
		return fail("bad request: no protocol version; send \"v\":%d", Version)
	case req.V != Version:
		return fail("unsupported protocol version %d (this appliance speaks %d)", req.V, Version)
	}
	known := false
	for _, op := range Ops {
		known = known || op == req.Op
	}
	if !known {
		return fail("unknown op %q (want one of %s)", req.Op, strings.Join(Ops, ", "))
	}
	if req.Op == "status" {
		ctx, cancel := context.WithTimeout(context.Background(), statusDeadline)
		st := s.status(ctx)
		cancel()
		resp.OK, resp.Status = true, &st
		resp.State = st.Appliance.StateName
		return resp, nil
	}
	if s.remote == nil {
		return fail("op %q is not served here (status only)", req.Op)
	}
	if (req.Value != nil || req.Step != nil) != (req.Op == "volume") || (req.Value != nil && req.Step != nil) {
		if req.Op == "volume" {
			return fail("volume needs exactly one of \"value\" (0..1) or \"step\" (-1..+1)")
		}
		return fail("op %q takes no \"value\" or \"step\"", req.Op)
	}
	if (req.Text != "") != (req.Op == "say") {
		if req.Op == "say" {
			return fail("say needs a \"text\"")
		}
		return fail("op %q takes no \"text\"", req.Op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var st appliance.State
	var err error
	r := s.remote
	switch req.Op {
	case "press":
		st, err = r.Press(ctx)
	case "release":
		st, err = r.Release(ctx)
	case "tap":
		st, err = r.Tap(ctx)
	case "cancel":
		st, err = r.Cancel(ctx)
	case "mute", "unmute":
		st, err = r.SetMuted(ctx, req.Op == "mute")
	case "say":
		st, err = r.Say(ctx, req.Text)
	case "volume":
		v, rel := 0.0, req.Step != nil
		if rel {
			v = *req.Step
		} else {
			v = *req.Value
		}
		var nv float64
		if nv, err = r.SetVolume(ctx, v, rel); err == nil {
			resp.Volume = &nv
		}
	case "subscribe":
		sub, err := r.Subscribe()
		if err != nil {
			return fail("%v", err)
		}
		resp.OK = true
		return resp, sub
	}
	if err != nil {
		return fail("%v", err)
	}
	resp.OK = true
	if req.Op != "volume" {
		resp.State = st.String()
	}
	return resp, nil
}
