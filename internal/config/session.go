package config

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Session is the [session] section: what the realtime session is told in its
// session.update when the data channel opens (sent in the key's dialect: flat for
// preview, type "realtime" with audio.input/output for GA).
type Session struct {
	// System prompt of the assistant. Empty: leave the server's (or the key's) instructions.
	Instructions string `toml:"instructions"`
	// Voice of the answers ("marin", "cedar", "alloy", "verse", ...). It cannot change
	// after the first audio answer. Empty: the server's default.
	Voice string `toml:"voice"`
	// Turn detection: "none" (push-to-talk: the button starts and ends each turn),
	// "server_vad" (the server ends a turn after silence) or "semantic_vad" (the server
	// ends a turn when the user seems done). With a VAD, talk opens the microphone (held,
	// or toggled on) and the server ends each turn while it is open; the release or the
	// stop tap closes it (speech the server has not committed yet is answered).
	TurnDetection string `toml:"turn_detection"`
	// server_vad: speech probability threshold, 0 to 1 (higher needs louder speech).
	VADThreshold float64 `toml:"vad_threshold"`
	// server_vad: audio kept from before the detected start of speech.
	VADPrefixPadding Duration `toml:"vad_prefix_padding"`
	// server_vad: silence that ends the turn.
	VADSilence Duration `toml:"vad_silence"`
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
	Tools []Tool `toml:"tools"`
}

// Tool is one function tool of [[session.tools]].
type Tool struct {
	// Function name (letters, digits, '_' and '-').
	Name string `toml:"name"`
	// What the tool does, for the model.
	Description string `toml:"description"`
	// JSON Schema of the arguments, as a JSON object string. Empty: no arguments.
	Parameters string `toml:"parameters"`
}

func (c *Session) setDefaults() {
	if c.Tools == nil { // empty, not nil: the printed config reloads the same
		c.Tools = []Tool{}
	}
	if c.TurnDetection == "" {
		c.TurnDetection = "none"
	}
	if c.VADThreshold == 0 {
		c.VADThreshold = 0.5
	}
	if c.VADPrefixPadding == 0 {
		c.VADPrefixPadding = Duration(300e6)
	}
	if c.VADSilence == 0 {
		c.VADSilence = Duration(500e6)
	}
	if c.Eagerness == "" {
		c.Eagerness = "auto"
	}
	if c.NoiseReduction == "" {
		c.NoiseReduction = "far_field"
	}
}

// Turn detection types of [session] turn_detection.
const (
	TurnNone        = "none"
	TurnServerVAD   = "server_vad"
	TurnSemanticVAD = "semantic_vad"
)

func (c *Session) validate(p *sectionProblems) {
	switch c.TurnDetection {
	case "none", "", "null":
	case TurnServerVAD:
		if c.VADThreshold < 0 || c.VADThreshold > 1 {
			p.add("vad_threshold", "%v is out of range; use 0 to 1 (0.5 is the default)", c.VADThreshold)
		}
		if c.VADPrefixPadding.D() < 0 {
			p.add("vad_prefix_padding", "must not be negative (such as \"300ms\")")
		}
		if c.VADSilence.D() <= 0 {
			p.add("vad_silence", "must be a positive duration such as \"500ms\"")
		}
	case TurnSemanticVAD:
		switch c.Eagerness {
		case "low", "medium", "high", "auto":
		default:
			p.add("eagerness", "%q is not known; use \"low\", \"medium\", \"high\" or \"auto\"", c.Eagerness)
		}
	default:
		p.add("turn_detection", "%q is not known; use \"none\", \"server_vad\" or \"semantic_vad\"", c.TurnDetection)
	}
	switch c.NoiseReduction {
	case "off", "", "none", "near_field", "far_field":
	default:
		p.add("noise_reduction", "%q is not known; use \"off\", \"near_field\" or \"far_field\"", c.NoiseReduction)
	}
	if c.TranscriptionModel == "" && c.TranscriptionLanguage != "" {
		p.add("transcription_language", "is set but transcription_model is empty; set a model such as \"whisper-1\"")
	}
	seen := map[string]bool{}
	for i, t := range c.Tools {
		if t.Name == "" || strings.Trim(t.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			p.add(fmt.Sprintf("tools.%d.name", i), "%q: use letters, digits, '_' and '-'", t.Name)
		} else if seen[t.Name] {
			p.add(fmt.Sprintf("tools.%d.name", i), "%q appears twice", t.Name)
		}
		seen[t.Name] = true
		if t.Parameters != "" {
			var obj map[string]any
			if err := json.Unmarshal([]byte(t.Parameters), &obj); err != nil {
				p.add(fmt.Sprintf("tools.%d.parameters", i), "not a JSON object (%v); write a JSON Schema such as {\"type\":\"object\",\"properties\":{}}", err)
			}
		}
	}
}
