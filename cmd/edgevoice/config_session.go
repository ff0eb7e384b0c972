package main

import (
	"encoding/json"
	"strings"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// sessionConfig is the [session] section: what the realtime session is told in its
// session.update when the data channel opens (sent in the key's dialect: flat for
// preview, type "realtime" with audio.input/output for GA).
type sessionConfig struct {
	// System prompt of the assistant. Empty: leave the server's (or the key's) instructions.
	Instructions string `toml:"instructions"`
	// Voice of the answers ("marin", "cedar", "alloy", "verse", ...). It cannot change
	// after the first audio answer. Empty: the server's default.
	Voice string `toml:"voice"`
	// Turn detection: "none" (push-to-talk: the button starts and ends each turn),
	// "server_vad" (the server ends a turn after silence) or "semantic_vad" (the server
	// ends a turn when the user seems done). With a VAD the microphone is open all the
	// time and the button only interrupts.
	TurnDetection string `toml:"turn_detection"`
	// server_vad: speech probability threshold, 0 to 1 (higher needs louder speech).
	VADThreshold float64 `toml:"vad_threshold"`
	// server_vad: audio kept from before the detected start of speech.
	VADPrefixPadding duration `toml:"vad_prefix_padding"`
	// server_vad: silence that ends the turn.
	VADSilence duration `toml:"vad_silence"`
	// semantic_vad: how readily the turn ends: "low", "medium", "high" or "auto".
	Eagerness string `toml:"eagerness"`
	// Noise reduction of the input on the server: "off", "near_field" (close-talk mics)
	// or "far_field" (room mics, mic arrays).
	NoiseReduction string `toml:"noise_reduction"`
	// Model that transcribes what the user said ("whisper-1", "gpt-4o-transcribe",
	// "gpt-4o-mini-transcribe"). Empty: no user transcript.
	TranscriptionModel string `toml:"transcription_model"`
	// Language of the user as ISO-639-1 ("en", "de"), a hint for transcription. Empty: detect.
	TranscriptionLanguage string `toml:"transcription_language"`
	// Function tools the model may call.
	Tools []toolConfig `toml:"tools"`
}

// toolConfig is one function tool of [[session.tools]].
type toolConfig struct {
	// Function name (letters, digits, '_' and '-').
	Name string `toml:"name"`
	// What the tool does, for the model.
	Description string `toml:"description"`
	// JSON Schema of the arguments, as a JSON object string. Empty: no arguments.
	Parameters string `toml:"parameters"`
}

func (c *sessionConfig) setDefaults() {
	if c.Tools == nil { // empty, not nil: the printed config reloads the same
		c.Tools = []toolConfig{}
	}
	if c.TurnDetection == "" {
		c.TurnDetection = "none"
	}
	if c.VADThreshold == 0 {
		c.VADThreshold = 0.5
	}
	if c.VADPrefixPadding == 0 {
		c.VADPrefixPadding = duration(300e6)
	}
	if c.VADSilence == 0 {
		c.VADSilence = duration(500e6)
	}
	if c.Eagerness == "" {
		c.Eagerness = "auto"
	}
	if c.NoiseReduction == "" {
		c.NoiseReduction = "far_field"
	}
}

func (c *sessionConfig) validate() error {
	_, err := c.session()
	return err
}

// session converts the section into the session.update content.
func (c *sessionConfig) session() (events.Session, error) {
	var s events.Session
	s.Instructions, s.Voice = c.Instructions, c.Voice
	td, err := events.ParseTurnDetectionType(c.TurnDetection)
	if err != nil {
		return s, fieldErr("turn_detection", "%q is not known; use \"none\", \"server_vad\" or \"semantic_vad\"", c.TurnDetection)
	}
	s.TurnDetection.Type = td
	switch td {
	case events.TurnDetectionServerVAD:
		if c.VADThreshold < 0 || c.VADThreshold > 1 {
			return s, fieldErr("vad_threshold", "%v is out of range; use 0 to 1 (0.5 is the default)", c.VADThreshold)
		}
		if c.VADPrefixPadding.D() < 0 || c.VADSilence.D() <= 0 {
			return s, fieldErr("vad_silence", "must be positive durations such as \"300ms\" and \"500ms\"")
		}
		s.TurnDetection.Threshold = c.VADThreshold
		s.TurnDetection.PrefixPaddingMS = int(c.VADPrefixPadding.D().Milliseconds())
		s.TurnDetection.SilenceDurationMS = int(c.VADSilence.D().Milliseconds())
	case events.TurnDetectionSemanticVAD:
		e, err := events.ParseEagerness(c.Eagerness)
		if err != nil || e == events.EagernessUnset {
			return s, fieldErr("eagerness", "%q is not known; use \"low\", \"medium\", \"high\" or \"auto\"", c.Eagerness)
		}
		s.TurnDetection.Eagerness = e
	}
	nr, err := events.ParseNoiseReduction(c.NoiseReduction)
	if err != nil {
		return s, fieldErr("noise_reduction", "%q is not known; use \"off\", \"near_field\" or \"far_field\"", c.NoiseReduction)
	}
	s.NoiseReduction = nr
	if c.TranscriptionModel != "" {
		s.Transcription = &events.Transcription{Model: c.TranscriptionModel, Language: c.TranscriptionLanguage}
	} else if c.TranscriptionLanguage != "" {
		return s, fieldErr("transcription_language", "is set but transcription_model is empty; set a model such as \"whisper-1\"")
	}
	seen := map[string]bool{}
	for i, t := range c.Tools {
		if t.Name == "" || strings.Trim(t.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return s, fieldErr("tools", "[%d].name %q: use letters, digits, '_' and '-'", i, t.Name)
		}
		if seen[t.Name] {
			return s, fieldErr("tools", "[%d].name %q appears twice", i, t.Name)
		}
		seen[t.Name] = true
		tool := events.Tool{Name: t.Name, Description: t.Description}
		if t.Parameters != "" {
			var obj map[string]any
			if err := json.Unmarshal([]byte(t.Parameters), &obj); err != nil {
				return s, fieldErr("tools", "[%d].parameters: not a JSON object (%v); write a JSON Schema such as {\"type\":\"object\",\"properties\":{}}", i, err)
			}
			tool.Parameters = json.RawMessage(t.Parameters)
		}
		s.Tools = append(s.Tools, tool)
	}
	return s, nil
}
