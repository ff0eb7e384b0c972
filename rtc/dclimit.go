package rtc

import (
	"regexp"

	"github.com/pion/webrtc/v4"
)

// maxDCMessage is the largest data-channel message (one realtime event) accepted. The
// biggest events (session.updated with instructions and tools, response.done with a
// transcript) are tens of KiB; pion's default is about 1 GiB, grown on demand.
const maxDCMessage = 1 << 20

// maxMsgRe finds the max-message-size attribute of an SDP (tests change it).
var maxMsgRe = regexp.MustCompile(`a=max-message-size:\d+`)

// limitSCTP caps what the data channel accepts: the message size advertised to the
// peer (a=max-message-size: an honest peer refuses to send more) and the SCTP receive
// buffer, which bounds what a peer that ignores it can make us hold (pion v4.2's reader
// does not enforce the max message size itself; its check sees n = 0).
func limitSCTP(se *webrtc.SettingEngine) {
	se.SetSCTPMaxMessageSize(maxDCMessage)
	se.SetSCTPMaxReceiveBufferSize(maxDCMessage)
}

// acceptDCMessage reports whether a data-channel message is an event to handle: text,
// at most maxDCMessage bytes.
func acceptDCMessage(m webrtc.DataChannelMessage) bool {
	return m.IsString && len(m.Data) <= maxDCMessage
}
