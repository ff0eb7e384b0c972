package keyd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
)

// DefaultSocketPath is where provisiond listens and `edgevoice run` connects.
const DefaultSocketPath = "/run/edgevoice/keys.sock"

// Protocol limits of the key socket.
const (
	maxRequestLine  = 4 << 10  // a request is one short JSON line
	maxResponseLine = 64 << 10 // a key with session defaults (tools) fits easily
	maxSocketConns  = 32
	connIdle        = 30 * time.Second
	maxConnsPerUID  = 8 // one uid cannot take every slot
	defaultGetWait  = 30 * time.Second
)

// request is one line sent to the key socket.
//
//	{"op":"get","min_valid_s":30}
//	{"op":"status"}
type request struct {
	Op        string  `json:"op"`                    // "get" or "status"
	MinValidS float64 `json:"min_valid_s,omitempty"` // get: the key must stay valid this long
	WaitS     float64 `json:"wait_s,omitempty"`      // get: give up after this long (default 30)
}

// response is one line answered by the key socket. Error answers have OK false, a Code
// ("bad_request", "forbidden", "credential_rejected", "no_credential", "not_configured",
// "unavailable", "failed", "busy")
// and a message.
type response struct {
	OK     bool     `json:"ok"`
	Key    *wireKey `json:"key,omitempty"`
	Status *Status  `json:"status,omitempty"`
	Code   string   `json:"code,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// wireKey is Key as sent over the socket.
type wireKey struct {
	Value     string    `json:"value"`
	ExpiresAt time.Time `json:"expires_at"`
	SDPURL    string    `json:"sdp_url"`
	Dialect   string    `json:"dialect"`
	Profile   string    `json:"profile"`
	MintedAt  time.Time `json:"minted_at"`
	// the broker's session settings and whether it pins them
	Session       *realtime.SessionDefaults `json:"session,omitempty"`
	SessionPinned bool                      `json:"session_pinned,omitempty"`
}

func toWire(k realtime.Key) *wireKey {
	return &wireKey{Value: k.Value, ExpiresAt: k.ExpiresAt, SDPURL: k.SDPURL, Dialect: k.Dialect.String(),
		Profile: k.Profile, MintedAt: k.MintedAt, Session: k.Session, SessionPinned: k.SessionPinned}
}

func (w *wireKey) key() (realtime.Key, error) {
	d, err := realtime.ParseDialect(w.Dialect)
	if err != nil {
		return realtime.Key{}, err
	}
	return realtime.Key{Value: w.Value, ExpiresAt: w.ExpiresAt, SDPURL: w.SDPURL, Dialect: d, Profile: w.Profile,
		MintedAt: w.MintedAt, Session: w.Session, SessionPinned: w.SessionPinned}, nil
}

// RemoteError is an error answer from the key socket. errors.Is maps the codes
// "credential_rejected", "no_credential" and "unavailable" to provisioning.ErrCredentialRejected,
// provisioning.ErrNoCredential and ErrUnavailable.
type RemoteError struct {
	Code    string
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("keyd: key daemon answered %s: %s", e.Code, e.Message)
}

// Is maps the answer codes to the package's sentinels.
func (e *RemoteError) Is(target error) bool {
	return (target == provisioning.ErrCredentialRejected && e.Code == "credential_rejected") ||
		(target == provisioning.ErrNoCredential && e.Code == "no_credential") ||
		(target == provisioning.ErrNotConfigured && e.Code == "not_configured") ||
		(target == ErrUnavailable && e.Code == "unavailable")
}

func errorCode(err error) string {
	switch {
	case errors.Is(err, provisioning.ErrNoCredential):
		return "no_credential"
	case errors.Is(err, provisioning.ErrNotConfigured):
		return "not_configured"
	case errors.Is(err, provisioning.ErrCredentialRejected):
		return "credential_rejected"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "failed"
}

var errLineTooLong = errors.New("line too long")

// readLine reads one '\n'-terminated line of at most limit bytes.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > limit {
			return nil, errLineTooLong
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) > 0 {
				return line, nil
			}
			return nil, err
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
