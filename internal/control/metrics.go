package control

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
)

// MetricsServer serves Prometheus text metrics on a loopback address.
type MetricsServer struct {
	srv *http.Server
	wg  sync.WaitGroup
}

// ListenMetrics serves the metrics of status at http://addr/metrics until Close.
func ListenMetrics(addr string, status func(context.Context) Status) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("[appliance] metrics_listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		WriteMetrics(w, status(req.Context()))
	})
	m := &MetricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	m.wg.Add(1)
	go func() { defer m.wg.Done(); _ = m.srv.Serve(ln) }()
	return m, nil
}

// Close shuts the server down and joins it.
func (m *MetricsServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	m.wg.Wait()
	return err
}

// WriteMetrics writes st in the Prometheus text format.
func WriteMetrics(w io.Writer, st Status) {
	a := st.Appliance
	fmt.Fprintf(w, "# HELP edgevoice_state 1 for the current appliance state.\n# TYPE edgevoice_state gauge\n")
	for s := appliance.Idle; s <= appliance.Offline; s++ {
		v := 0
		if s == a.State {
			v = 1
		}
		fmt.Fprintf(w, "edgevoice_state{state=%q} %d\n", s.String(), v)
	}
	g := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	c := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	g("edgevoice_uptime_seconds", "Seconds since the appliance started.", time.Duration(a.Uptime).Seconds())
	c("edgevoice_turns_total", "Talk turns.", a.Turns)
	g("edgevoice_volume", "Speaker volume 0..1.", a.Volume)
	if k := a.Key; k != nil {
		g("edgevoice_key_age_seconds", "Age of the last ephemeral key.", time.Duration(k.Age).Seconds())
	}
	if s := a.Session; s != nil {
		g("edgevoice_rtt_seconds", "ICE round-trip time.", time.Duration(s.RTT).Seconds())
		c("edgevoice_packets_sent_total", "RTP packets sent.", s.PacketsSent)
		c("edgevoice_packets_received_total", "RTP packets received.", s.PacketsReceived)
		c("edgevoice_packets_lost_total", "RTP packets lost.", s.PacketsLost)
		g("edgevoice_concealed_seconds", "Audio concealed after losses.", time.Duration(s.Concealed).Seconds())
		c("edgevoice_reconnects_total", "Session reconnects.", s.Reconnects)
	}
	for _, au := range st.Audio {
		fmt.Fprintf(w, "edgevoice_audio_overruns_total{role=%q} %d\n", au.Role, au.Overruns)
		fmt.Fprintf(w, "edgevoice_audio_underruns_total{role=%q} %d\n", au.Role, au.Underruns)
		fmt.Fprintf(w, "edgevoice_audio_reopens_total{role=%q} %d\n", au.Role, au.Reopens)
	}
}
