package rtc

import (
	"fmt"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// State is the connection state of a Session.
type State int

// States, in the order a session normally passes through them.
const (
	StateNew State = iota
	StateConnecting
	StateConnected
	StateDisconnected
	StateReconnecting
	StateClosed
)

var stateNames = [...]string{"new", "connecting", "connected", "disconnected", "reconnecting", "closed"}

// String returns "new", "connecting", "connected", "disconnected", "reconnecting" or "closed".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventState: the connection state changed (State; Err holds the cause of
	// Disconnected and Closed, if any).
	EventState EventKind = iota + 1
	// EventListening: a press took effect; the mic is being sent.
	EventListening
	// EventThinking: the turn was committed and a response requested, or, with Text
	// saying so, the model's function calls are running or their outputs were sent and
	// the answer requested.
	EventThinking
	// EventSpeakingStarted / EventSpeakingStopped: the model's audio for ResponseID
	// started / stopped (drained, cleared or cancelled).
	EventSpeakingStarted
	EventSpeakingStopped
	// EventTranscriptDelta / EventTranscriptDone: assistant speech as text (Text).
	EventTranscriptDelta
	EventTranscriptDone
	// EventUserTranscript: what the user said (Text), when transcription is on.
	EventUserTranscript
	// EventResponseDone: the response ended (Status in Server).
	EventResponseDone
	// EventBargeIn: a press or Cancel interrupted the response ResponseID.
	EventBargeIn
	// EventError: a server error event or a local failure (Err).
	EventError
	// EventMicClosed: a release took effect; the mic is no longer sent.
	EventMicClosed
	// EventSpeechStarted / EventSpeechStopped: the service's VAD heard the user start /
	// stop speaking (server or semantic VAD only).
	EventSpeechStarted
	EventSpeechStopped
)

var eventKindNames = [...]string{"", "state", "listening", "thinking", "speaking-started", "speaking-stopped",
	"transcript-delta", "transcript-done", "user-transcript", "response-done", "barge-in", "error", "mic-closed",
	"speech-started", "speech-stopped"}

// String returns a short name such as "speaking-started".
func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventKindNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventKindNames[k]
}

// Event is one notification from a Session, for LEDs, logs and the UI.
type Event struct {
	Kind       EventKind
	State      State        // EventState
	Err        error        // EventState (cause) and EventError
	Text       string       // transcripts; what a tool-related EventThinking is about
	ResponseID string       // speaking, response done, barge-in
	Server     events.Event // the server event behind this one, if any
	Transport  Transport    // EventState: the transport of the connection
}

// String describes e for logs.
func (e Event) String() string {
	switch e.Kind {
	case EventState:
		if e.Err != nil {
			return fmt.Sprintf("state %s (%v)", e.State, e.Err)
		}
		return "state " + e.State.String()
	case EventError:
		return fmt.Sprintf("error: %v", e.Err)
	case EventTranscriptDelta, EventTranscriptDone, EventUserTranscript:
		return fmt.Sprintf("%s %q", e.Kind, e.Text)
	}
	if e.ResponseID != "" {
		return e.Kind.String() + " " + e.ResponseID
	}
	return e.Kind.String()
}
