package rtc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgevoice/edgevoice/realtime"
)

// defaultHangupTimeout bounds the hang-up of one call: a close must not wait for long on
// a network that is gone.
const defaultHangupTimeout = time.Second

// hangUp ends the call on the service before the peer connection is closed, so the
// service stops the call (and its billing) at once instead of when its ICE gives up.
// GA: POST <SDP URL>/{call_id}/hangup with the key. The preview API documents no
// hang-up: the data channel is closed first (the peer sees it go) and then the peer
// connection. Failures are logged at debug and never block longer than the timeout.
func (c *conn) hangUp() {
	if c.pc == nil {
		return
	}
	to := c.s.cfg.hangupTO
	if c.dialect == realtime.DialectGA && c.callID != "" {
		u, err := hangupURL(c.key.SDPURL, c.callID)
		if err != nil {
			c.s.cfg.log.Debug("rtc: no hang-up URL", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), to)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+c.key.Value)
		start := time.Now()
		resp, err := c.s.cfg.httpClient.Do(req)
		if err != nil {
			c.s.cfg.log.Debug("rtc: hang-up failed", "call", c.callID, "err", err)
			return
		}
		resp.Body.Close()
		c.s.cfg.log.Debug("rtc: hung up", "call", c.callID, "status", resp.StatusCode, "took", time.Since(start))
		return
	}
	if c.dc != nil && c.dc.ReadyState() == webrtc.DataChannelStateOpen {
		if err := c.dc.Close(); err == nil {
			t := time.NewTimer(to)
			defer t.Stop()
			select {
			case <-c.dcClosed:
			case <-t.C:
			}
		}
	}
}

// hangupURL is the GA hang-up endpoint for callID: the SDP URL (…/realtime/calls)
// without its query, plus /{call_id}/hangup.
func hangupURL(sdpURL, callID string) (string, error) {
	u, err := url.Parse(sdpURL)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + url.PathEscape(callID) + "/hangup"
	u.RawPath = ""
	return u.String(), nil
}
