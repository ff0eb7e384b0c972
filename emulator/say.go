package emulator

//go:generate go run gen_sayaudio.go

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// The answer to a text prompt. A client may add a user message with text
// (conversation.item.create, content type input_text) and ask for a response, as a
// device does for an announcement. The emulator has no speech synthesis: it answers
// such a turn with a fixed 0.6 s chime (sayaudio.bin, made by gen_sayaudio.go) and its
// usual reply transcript, so the client sees a spoken answer (output_audio_buffer
// started/stopped, RTP audio) as it would from the service.

//go:embed sayaudio.bin
var sayAudioBin []byte

// sayAudio is sayAudioBin split into its Opus packets.
var sayAudio = func() [][]byte {
	var pk [][]byte
	for b := sayAudioBin; len(b) >= 2; {
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			panic("emulator: sayaudio.bin is truncated")
		}
		pk = append(pk, b[2:2+n])
		b = b[2+n:]
	}
	return pk
}()

// itemCreate is the part of conversation.item.create the emulator reads.
type itemCreate struct {
	EventID string `json:"event_id"`
	Item    struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"item"`
}

// itemCreateLocked answers conversation.item.create: a message item is checked like the
// service does (a type, a role, content parts it knows) and announced with
// conversation.item.created; a user message with text makes the next response.create
// answer with sayAudio. Other item types (function_call_output, ...) are acknowledged
// and otherwise ignored. c.mu must be held.
func (c *call) itemCreateLocked(data []byte) {
	var e itemCreate
	if err := json.Unmarshal(data, &e); err != nil {
		c.errorLocked("", "invalid_json", "", "The event could not be parsed as JSON: "+err.Error())
		return
	}
	role := ""
	switch e.Item.Type {
	case "message":
		switch e.Item.Role {
		case "user", "system", "assistant":
		default:
			c.errorLocked(e.EventID, "invalid_value", "item.role", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'user', 'system' and 'assistant'.", e.Item.Role))
			return
		}
		if len(e.Item.Content) == 0 {
			c.errorLocked(e.EventID, "missing_required_parameter", "item.content", "Missing required parameter: 'item.content'.")
			return
		}
		text := false
		for i, p := range e.Item.Content {
			switch p.Type {
			case "input_text", "text", "output_text":
				if p.Text == "" {
					c.errorLocked(e.EventID, "missing_required_parameter", fmt.Sprintf("item.content[%d].text", i),
						fmt.Sprintf("Missing required parameter: 'item.content[%d].text'.", i))
					return
				}
				text = true
			case "input_audio":
			default:
				c.errorLocked(e.EventID, "invalid_value", fmt.Sprintf("item.content[%d].type", i),
					fmt.Sprintf("Invalid value: '%s'.", p.Type))
				return
			}
		}
		role = e.Item.Role
		if text && role == "user" {
			c.textTurn = true
		}
	case "":
		c.errorLocked(e.EventID, "missing_required_parameter", "item.type", "Missing required parameter: 'item.type'.")
		return
	}
	c.nItem++
	item := fmt.Sprintf("item_%s_%d", c.id[4:], c.nItem)
	prev := c.lastItem
	c.lastItem = item
	c.sendLocked(events.ConversationItemCreated{ItemID: item, PreviousItemID: prev, Role: role})
}

// textAnswerLocked returns the audio of a response to a text prompt: sayAudio when a
// user text item came after the last response and no committed audio is waiting, else
// nil. c.mu must be held.
func (c *call) textAnswerLocked(audio [][]byte) [][]byte {
	t := c.textTurn
	c.textTurn = false
	if t && len(audio) == 0 {
		return sayAudio
	}
	return audio
}
