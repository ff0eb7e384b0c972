package appliance

import "fmt"

// State is what the appliance is doing, as the LEDs show it.
type State int

// States. Off is before Run and after shutdown.
const (
	Off        State = iota
	Idle             // ready: press to talk
	Connecting       // a turn is waiting for the session to come up
	Listening        // the mic is being sent
	Thinking         // the turn is committed; waiting for the answer
	Speaking         // the answer is playing
	Muted            // the mic is muted; talk is ignored
	Error            // a device failed (audio); it is being reopened
	NoKey            // no usable key: credential rejected or provisioning not set up
	Offline          // the network or the backend cannot be reached
)

var stateNames = [...]string{"off", "idle", "connecting", "listening", "thinking", "speaking", "muted", "error", "no-key", "offline"}

// String returns the lower-case name ("no-key").
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// TalkMode is how the talk button works.
type TalkMode int

// Talk modes.
const (
	Hold   TalkMode = iota // push-to-talk: talk while held
	Toggle                 // press to start, press again to stop
)

// String returns "hold" or "toggle".
func (m TalkMode) String() string {
	switch m {
	case Hold:
		return "hold"
	case Toggle:
		return "toggle"
	}
	return fmt.Sprintf("TalkMode(%d)", int(m))
}

// fault is a sticky problem that overrides the turn state on the LEDs.
type fault int

const (
	faultNone fault = iota
	faultNoKey
	faultOffline
	faultError
)
