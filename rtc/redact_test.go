package rtc

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// TestPostSDPNeverShowsSecrets: the SDP exchange's errors showed the SDP URL whole
// (query secrets) and a backend's error body that echoed the ephemeral key.
func TestPostSDPNeverShowsSecrets(t *testing.T) {
	const keyVal = "ek_MARKERKEY0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"message":"bad key ` + r.Header.Get("Authorization") + `"}}`))
		case "/text":
			w.WriteHeader(500)
			w.Write([]byte("oops " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
		default:
			w.Write([]byte("not sdp " + keyVal))
		}
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	s := &Session{}
	s.cfg.httpClient = srv.Client()
	s.cfg.connectTO = 10 * time.Second
	for _, u := range []string{srv.URL + "/json?sig=QSECRET77", srv.URL + "/text?sig=QSECRET77", srv.URL + "/ok?sig=QSECRET77", "http://" + closed + "/x?sig=QSECRET77"} {
		_, _, err := s.postSDP(context.Background(), realtime.Key{Value: keyVal, SDPURL: u}, "v=0")
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		if strings.Contains(err.Error(), "MARKERKEY") || strings.Contains(err.Error(), "QSECRET") {
			t.Errorf("%s: the error shows a secret: %v", u, err)
		}
	}
}
