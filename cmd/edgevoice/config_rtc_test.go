package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/realtime/events"
)

func TestRTCAndSessionSections(t *testing.T) {
	var r rtcConfig
	r.setDefaults()
	if err := r.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	var s sessionConfig
	s.setDefaults()
	if err := s.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if opts, err := r.sessionOptions(&s); err != nil || len(opts) < 10 {
		t.Fatalf("sessionOptions: %d options, %v", len(opts), err)
	}
	bad := []struct {
		key string
		mod func(*rtcConfig, *sessionConfig)
	}{
		{"network_types", func(r *rtcConfig, _ *sessionConfig) { r.NetworkTypes = []string{"sctp"} }},
		{"allow_ips", func(r *rtcConfig, _ *sessionConfig) { r.AllowIPs = []string{"127.0.0.1"} }},
		{"udp_port_min", func(r *rtcConfig, _ *sessionConfig) { r.UDPPortMin = 5000 }},
		{"opus_bitrate", func(r *rtcConfig, _ *sessionConfig) { r.OpusRate = 44100 }},
		{"jitter_depth", func(r *rtcConfig, _ *sessionConfig) { r.JitterDepth = 40 }},
		{"pre_roll", func(r *rtcConfig, _ *sessionConfig) { r.CatchUp = 0.5 }},
		{"turn_detection", func(_ *rtcConfig, s *sessionConfig) { s.TurnDetection = "vad" }},
		{"eagerness", func(_ *rtcConfig, s *sessionConfig) { s.TurnDetection, s.Eagerness = "semantic_vad", "eager" }},
		{"noise_reduction", func(_ *rtcConfig, s *sessionConfig) { s.NoiseReduction = "loud" }},
		{"tools", func(_ *rtcConfig, s *sessionConfig) {
			s.Tools = []toolConfig{{Name: "lights", Parameters: "[1,2]"}}
		}},
	}
	for _, b := range bad {
		var r rtcConfig
		var s sessionConfig
		b.mod(&r, &s)
		r.setDefaults()
		s.setDefaults()
		err := r.validate()
		if err == nil {
			err = s.validate()
		}
		var fe *fieldError
		if !errors.As(err, &fe) || fe.key != b.key {
			t.Errorf("%s: err %v, want a field error on %q", b.key, err, b.key)
		}
	}
}

func TestSessionSectionShapes(t *testing.T) {
	s := sessionConfig{Instructions: "be brief", Voice: "marin", TurnDetection: "server_vad", NoiseReduction: "near_field",
		TranscriptionModel: "whisper-1", TranscriptionLanguage: "en",
		Tools: []toolConfig{{Name: "set_volume", Description: "Set the volume", Parameters: `{"type":"object","properties":{"level":{"type":"number"}}}`}}}
	s.setDefaults()
	sess, err := s.session()
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := events.Marshal(events.GA, events.SessionUpdate{Session: sess})
	pv, _ := events.Marshal(events.Preview, events.SessionUpdate{Session: sess})
	for _, want := range []string{`"type":"realtime"`, `"audio":{`, `"turn_detection":{"type":"server_vad"`, `"silence_duration_ms":500`, `"voice":"marin"`, `"set_volume"`} {
		if !strings.Contains(string(ga), want) {
			t.Errorf("GA session.update lacks %s: %s", want, ga)
		}
	}
	for _, want := range []string{`"input_audio_noise_reduction":{"type":"near_field"}`, `"input_audio_transcription":{"model":"whisper-1"`, `"voice":"marin"`} {
		if !strings.Contains(string(pv), want) {
			t.Errorf("preview session.update lacks %s: %s", want, pv)
		}
	}
	if strings.Contains(string(pv), `"type":"realtime"`) {
		t.Errorf("preview session.update has the GA type: %s", pv)
	}
	ptt := sessionConfig{}
	ptt.setDefaults()
	sess, _ = ptt.session()
	ga, _ = events.Marshal(events.GA, events.SessionUpdate{Session: sess})
	if !strings.Contains(string(ga), `"turn_detection":null`) {
		t.Errorf("push-to-talk must send turn_detection null: %s", ga)
	}
}
