package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/broker/wire"
	"github.com/edgevoice/edgevoice/realtime/events"
)

const maxBody = 1 << 20

// apiError writes the error body of the real service: {"error":{message,type,code,param}}.
func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code, "param": nil}})
	w.Write(b)
}

// ServeHTTP routes the mint and SDP endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	path := r.URL.Path
	switch path {
	case "/healthz":
		io.WriteString(w, "ok\n")
		return
	case "/openai/realtimeapi/sessions", "/openai/v1/realtime/client_secrets", "/v1/realtime/client_secrets", "/v1/keys":
		if !s.post(w, r) {
			return
		}
		s.update(func(st *Stats) { st.MintRequests++ })
		if s.noGA && path == "/openai/v1/realtime/client_secrets" {
			apiError(w, http.StatusNotFound, "invalid_request_error", "404", "Resource not found")
			return
		}
		if s.injectFault(w, true) {
			return
		}
		switch path {
		case "/openai/realtimeapi/sessions":
			s.mintPreview(w, r)
		case "/v1/keys":
			s.mintBroker(w, r)
		default:
			s.mintGA(w, r, path)
		}
	case "/v1/realtimertc", "/v1/realtime/calls", "/openai/v1/realtime/calls":
		if !s.post(w, r) {
			return
		}
		s.update(func(st *Stats) { st.SDPRequests++ })
		if s.noGA && path == "/openai/v1/realtime/calls" {
			apiError(w, http.StatusNotFound, "invalid_request_error", "404", "Resource not found")
			return
		}
		if s.injectFault(w, false) {
			return
		}
		s.answer(w, r)
	case "/openai/realtime", "/openai/v1/realtime", "/v1/realtime":
		s.serveWS(w, r) // ws.go
	default:
		if id, ok := hangupCallID(path); ok && s.post(w, r) {
			s.hangup(w, r, id)
			return
		} else if ok {
			return
		}
		apiError(w, http.StatusNotFound, "invalid_request_error", "not_found", "emulator: no endpoint "+path)
	}
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		apiError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use POST")
		return false
	}
	return true
}

// injectFault answers with the configured mint or SDP status, if any.
func (s *Server) injectFault(w http.ResponseWriter, mint bool) bool {
	s.mu.Lock()
	status := s.faults.SDPStatus
	left := &s.faults.SDPFailures
	if mint {
		status, left = s.faults.MintStatus, &s.faults.MintFailures
	}
	if status == 0 {
		s.mu.Unlock()
		return false
	}
	if *left > 0 {
		*left--
		if *left == 0 {
			if mint {
				s.faults.MintStatus = 0
			} else {
				s.faults.SDPStatus = 0
			}
		}
	}
	s.mu.Unlock()
	switch {
	case status == http.StatusUnauthorized:
		apiError(w, status, "invalid_request_error", "invalid_api_key", "Incorrect API key provided (injected fault).")
	case status >= 500:
		apiError(w, status, "server_error", "", "The server had an error while processing your request (injected fault).")
	default:
		apiError(w, status, "invalid_request_error", strconv.Itoa(status), "injected fault")
	}
	return true
}

func (s *Server) keyTTL(def time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.ExpiredKeys {
		return -time.Second
	}
	if s.faults.KeyTTL != 0 {
		return s.faults.KeyTTL
	}
	return def
}

func (s *Server) issue(d events.Dialect, ttl time.Duration, sess events.Session, profile string) (string, time.Time) {
	v := randomKey()
	exp := time.Now().Add(ttl)
	s.mu.Lock()
	s.keys[v] = keyRecord{dialect: d, expires: exp, session: sess, profile: profile}
	s.stats.MintsOK++
	s.mu.Unlock()
	s.update(func(*Stats) {})
	return v, exp
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_body", "request body unreadable or too large")
		return nil, false
	}
	return b, true
}

func (s *Server) mintPreview(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") != provisioning.PreviewAPIVersion {
		apiError(w, http.StatusNotFound, "invalid_request_error", "404", "Resource not found (api-version must be "+provisioning.PreviewAPIVersion+")")
		return
	}
	if r.Header.Get("api-key") != s.apiKey {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "401", "Access denied due to invalid subscription key or wrong API endpoint.")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	sess := events.Session{}
	if len(bytes.TrimSpace(body)) > 0 {
		var err error
		if sess, err = events.DecodeSession(body); err != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", err.Error())
			return
		}
		if sess.Shape == events.GA {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "unknown_parameter", "Unknown parameter: 'type'.")
			return
		}
	}
	sess = withDefaults(sess, events.Preview)
	v, exp := s.issue(events.Preview, s.keyTTL(PreviewKeyTTL), sess, "azure-preview")
	sess.ID = s.newID("sess_")
	sess.ExpiresAt = time.Now().Add(30 * time.Minute).Unix()
	sj, err := events.AppendSession(nil, events.Preview, sess, true)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", err.Error())
		return
	}
	// the session object plus client_secret, as the preview service answers
	var b bytes.Buffer
	b.Write(sj[:len(sj)-1])
	fmt.Fprintf(&b, `,"client_secret":{"value":%q,"expires_at":%d}}`, v, exp.Unix())
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

func (s *Server) mintGA(w http.ResponseWriter, r *http.Request, path string) {
	authOK := false
	if tok, ok := trimBearer(r.Header.Get("Authorization")); ok && tok == s.apiKey {
		authOK = true
	}
	if path == "/openai/v1/realtime/client_secrets" && r.Header.Get("api-key") == s.apiKey {
		authOK = true
	}
	if !authOK {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		ExpiresAfter *struct {
			Anchor  string `json:"anchor"`
			Seconds int    `json:"seconds"`
		} `json:"expires_after"`
		Session json.RawMessage `json:"session"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
			return
		}
	}
	ttl := DefaultGAKeyTTL
	if e := req.ExpiresAfter; e != nil {
		if e.Seconds < 10 || e.Seconds > 7200 {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "integer_out_of_range", "expires_after.seconds must be between 10 and 7200")
			return
		}
		ttl = time.Duration(e.Seconds) * time.Second
	}
	var sess events.Session
	if req.Session != nil {
		var err error
		if sess, err = events.DecodeSession(req.Session); err != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", err.Error())
			return
		}
		var typ struct {
			Type *string `json:"type"`
		}
		_ = json.Unmarshal(req.Session, &typ)
		if typ.Type == nil || *typ.Type != "realtime" {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "Missing required parameter: 'session.type'.")
			return
		}
	}
	sess = withDefaults(sess, events.GA)
	profile := "openai"
	if strings.HasPrefix(path, "/openai/") {
		profile = "azure"
	}
	v, exp := s.issue(events.GA, s.keyTTL(ttl), sess, profile)
	sess.ID = s.newID("sess_")
	sj, err := events.AppendSession(nil, events.GA, sess, true)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_value", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"value":%q,"expires_at":%d,"session":%s}`, v, exp.Unix(), sj)
}

func (s *Server) mintBroker(w http.ResponseWriter, r *http.Request) {
	device := 0
	if tok, ok := trimBearer(r.Header.Get("Authorization")); ok {
		device = slices.Index(s.deviceTokens, tok) + 1
	}
	if device == 0 {
		s.log.Warn("broker mint refused: unknown device token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgevoice"`)
		apiError(w, http.StatusUnauthorized, "invalid_token", "invalid_token", "unknown or disabled device token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req wire.Request
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "bad JSON body")
			return
		}
	}
	var sess events.Session
	if req.Session != nil {
		sess.Instructions, sess.Voice = req.Session.Instructions, req.Session.Voice
	}
	d := s.dialect
	sess = withDefaults(sess, d)
	def := DefaultGAKeyTTL
	sdp := s.URL() + "/v1/realtime/calls"
	if d == events.Preview {
		def = PreviewKeyTTL
		sdp = s.URL() + "/v1/realtimertc?model=" + sess.Model
	}
	v, exp := s.issue(d, s.keyTTL(def), sess, "broker")
	s.log.Info("broker key minted", "device", device, "expires_at", exp.UTC().Format(time.RFC3339))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(wire.Response{Value: v, ExpiresAt: exp.Unix(), WebRTCURL: sdp, Protocol: d.String(), Profile: upstreamProfile(d)})
}

func upstreamProfile(d events.Dialect) string {
	if d == events.Preview {
		return provisioning.ProfileAzurePreview
	}
	return provisioning.ProfileOpenAI
}

// withDefaults fills the session fields the service fills.
func withDefaults(s events.Session, d events.Dialect) events.Session {
	if s.Model == "" {
		s.Model = DefaultGAModel
		if d == events.Preview {
			s.Model = DefaultPreviewModel
		}
	}
	if s.Voice == "" {
		s.Voice = "alloy"
	}
	if s.TurnDetection.Type == events.TurnDetectionUnset {
		s.TurnDetection = events.TurnDetection{Type: events.TurnDetectionServerVAD, Threshold: 0.5, PrefixPaddingMS: 300, SilenceDurationMS: 500}
		if d == events.Preview {
			s.TurnDetection.SilenceDurationMS = 200
		}
	}
	if s.NoiseReduction == events.NoiseReductionUnset {
		s.NoiseReduction = events.NoiseReductionOff
	}
	if s.Transcription == nil {
		s.Transcription = &events.Transcription{}
	}
	if s.Tools == nil {
		s.Tools = []events.Tool{}
	}
	if s.Modalities == nil {
		s.Modalities = []string{"audio"}
		if d == events.Preview {
			s.Modalities = []string{"audio", "text"}
		}
	}
	s.Shape = d
	return s
}

// answer handles the SDP endpoints.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	want := events.GA
	if path == "/v1/realtimertc" {
		want = events.Preview
		if r.URL.Query().Get("model") == "" {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "missing_model", "the model query parameter is required")
			return
		}
	}
	tok, ok := trimBearer(r.Header.Get("Authorization"))
	if !ok {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "You didn't provide an API key (Authorization: Bearer <ephemeral key>).")
		return
	}
	s.mu.Lock()
	rec, known := s.keys[tok]
	delay := s.faults.AnswerDelay
	s.mu.Unlock()
	switch {
	case !known || rec.dialect != want:
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	case time.Now().After(rec.expires):
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "expired_api_key", "The ephemeral key has expired.")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "unsupported_content_type", "Content-Type must be application/sdp")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if !s.answerDelay(w, r, delay) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	c, sdp, err := s.newCall(ctx, want, path, rec, string(body))
	if err != nil {
		var be badOfferError
		if errors.As(err, &be) {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_offer", err.Error())
			return
		}
		apiError(w, http.StatusInternalServerError, "server_error", "", err.Error())
		return
	}
	c.mu.Lock()
	c.cv.key = tok
	c.mu.Unlock()
	s.update(func(st *Stats) { st.CallsAnswered++ })
	w.Header().Set("Content-Type", "application/sdp")
	if want == events.GA {
		loc := "/v1/realtime/calls/" + c.id
		if strings.HasPrefix(path, "/openai/") {
			loc = "/openai" + loc
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	io.WriteString(w, sdp)
}

// answerDelay holds an answer back for d (the AnswerDelay fault). It reports false when
// the request went away meanwhile, or the server is closing (then it has answered 503).
func (s *Server) answerDelay(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		apiError(w, http.StatusServiceUnavailable, "server_error", "", "shutting down")
		return false
	}
}
