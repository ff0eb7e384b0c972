package button

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type edge struct {
	at      time.Duration
	pressed bool
}

// simulate runs the machine exactly as Run drives it on a fake clock: it waits
// m.wait(now), an edge within the wait wakes it early at the edge's time.
func simulate(o Opts, start bool, edges []edge, end time.Duration) []Event {
	if o.Debounce == 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	o.Name = "b"
	m := newMachine(&o)
	var got []Event
	emit := func(e Event) { got = append(got, e) }
	now, level := t0, start
	m.start(now, level, emit)
	for i := 0; now.Before(t0.Add(end)); {
		w := m.wait(now)
		if w <= 0 {
			m.input(now, false, level, emit)
			continue
		}
		if i < len(edges) && t0.Add(edges[i].at).Before(now.Add(w)) { // at a tie the timeout wins
			now, level = t0.Add(edges[i].at), edges[i].pressed
			i++
			m.input(now, true, level, emit)
			continue
		}
		now = now.Add(w)
		m.input(now, false, level, emit)
	}
	return got
}

func kinds(evs []Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Kind.String())
	}
	return strings.Join(s, ",")
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Press: "press", Release: "release", Click: "click", DoubleClick: "double-click", LongPress: "long-press", 0: "invalid", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestBounceGivesOnePressOneRelease(t *testing.T) {
	edges := []edge{
		{ms(0), true}, {ms(1), false}, {ms(2), true}, {ms(3), false}, {ms(5), true}, // press bounces, stable from 5 ms
		{ms(300), false}, {ms(301), true}, {ms(302), false}, {ms(304), true}, {ms(306), false}, // release bounces, stable from 306 ms
	}
	got := simulate(Opts{}, false, edges, time.Second)
	if k := kinds(got); k != "press,release,click" {
		t.Fatalf("events %s, want press,release,click", k)
	}
	if got[0].Time != t0.Add(ms(5)+DefaultDebounce) {
		t.Errorf("press at %v, want 25ms", got[0].Time.Sub(t0))
	}
	if got[1].Time != t0.Add(ms(306)+DefaultDebounce) || got[1].Held != ms(301) {
		t.Errorf("release at %v held %v, want 326ms held 301ms", got[1].Time.Sub(t0), got[1].Held)
	}
}

func TestGlitchShorterThanDebounceIgnored(t *testing.T) {
	got := simulate(Opts{}, false, []edge{{ms(10), true}, {ms(29), false}, {ms(100), true}, {ms(110), true}, {ms(115), false}}, time.Second)
	if len(got) != 0 {
		t.Fatalf("events %s for glitches, want none", kinds(got))
	}
}

// TestPressLatency: the Press comes exactly Debounce after the line settled, within
// the goal of debounce + 1 ms.
func TestPressLatency(t *testing.T) {
	for _, db := range []time.Duration{ms(5), ms(20), ms(50)} {
		got := simulate(Opts{Debounce: db}, false, []edge{{ms(1000), true}}, 2*time.Second)
		if len(got) != 1 || got[0].Kind != Press {
			t.Fatalf("debounce %v: events %s", db, kinds(got))
		}
		if lat := got[0].Time.Sub(t0.Add(ms(1000))); lat > db+time.Millisecond || lat < db {
			t.Errorf("debounce %v: press→event %v, want within [%v, %v]", db, lat, db, db+time.Millisecond)
		}
	}
}

func TestLongPressThresholds(t *testing.T) {
	o := Opts{LongPress: []time.Duration{3 * time.Second, 10 * time.Second}}
	got := simulate(o, false, []edge{{ms(100), true}, {ms(100) + 11*time.Second, false}}, 12*time.Second)
	if k := kinds(got); k != "press,long-press,long-press,release" {
		t.Fatalf("events %s", k)
	}
	if got[1].Threshold != 0 || got[1].Held != 3*time.Second || got[1].Time != t0.Add(ms(100)+3*time.Second) {
		t.Errorf("first long press %+v", got[1])
	}
	if got[2].Threshold != 1 || got[2].Time != t0.Add(ms(100)+10*time.Second) {
		t.Errorf("second long press %+v", got[2])
	}
	// Released just before the first threshold: a click, no long press.
	got = simulate(o, false, []edge{{0, true}, {3*time.Second - ms(1), false}}, 5*time.Second)
	if k := kinds(got); k != "press,release,click" {
		t.Fatalf("short of threshold: events %s", k)
	}
}

func TestDoubleClickWindow(t *testing.T) {
	o := Opts{DoubleClick: ms(400)}
	cases := []struct {
		name  string
		edges []edge
		want  string
	}{
		{"double", []edge{{0, true}, {ms(100), false}, {ms(300), true}, {ms(400), false}}, "press,release,press,release,double-click"},
		{"second press after window", []edge{{0, true}, {ms(100), false}, {ms(600), true}, {ms(700), false}}, "press,release,click,press,release,click"},
		{"second press just inside window", []edge{{0, true}, {ms(100), false}, {ms(499), true}, {ms(600), false}}, "press,release,press,release,double-click"},
		{"single", []edge{{0, true}, {ms(100), false}}, "press,release,click"},
		{"second press long", []edge{{0, true}, {ms(100), false}, {ms(200), true}, {ms(5000), false}}, "press,release,press,click,long-press,release"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oo := o
			oo.LongPress = []time.Duration{3 * time.Second}
			got := simulate(oo, false, c.edges, 6*time.Second)
			if k := kinds(got); k != c.want {
				t.Fatalf("events %s, want %s", k, c.want)
			}
		})
	}
	// The lone click is reported when the window ends.
	got := simulate(o, false, []edge{{0, true}, {ms(100), false}}, time.Second)
	if got[2].Time != t0.Add(ms(100)+ms(400)) {
		t.Errorf("click at %v, want 500ms", got[2].Time.Sub(t0))
	}
}

func TestHeldAtStart(t *testing.T) {
	o := Opts{LongPress: []time.Duration{3 * time.Second}}
	got := simulate(o, true, []edge{{4 * time.Second, false}}, 5*time.Second)
	if k := kinds(got); k != "press,long-press,release" {
		t.Fatalf("events %s", k)
	}
	for _, e := range got {
		if !e.HeldAtStart {
			t.Errorf("%v: HeldAtStart not set", e)
		}
	}
	if got[0].Time != t0 || got[1].Time != t0.Add(3*time.Second) {
		t.Errorf("times %v %v", got[0].Time.Sub(t0), got[1].Time.Sub(t0))
	}
}

// reference is the specification of the debouncer: a level counts once it has been
// held, without any edge, for the debounce time.
func reference(db time.Duration, edges []edge, end time.Duration) (presses []time.Duration, releases []time.Duration) {
	stable := false
	for i, e := range edges {
		next := end
		if i+1 < len(edges) {
			next = edges[i+1].at
		}
		if e.pressed != stable && next-e.at >= db && e.at+db <= end {
			stable = e.pressed
			if stable {
				presses = append(presses, e.at+db)
			} else {
				releases = append(releases, e.at+db)
			}
		}
	}
	return
}

func checkProperty(t *testing.T, db time.Duration, edges []edge) {
	t.Helper()
	end := time.Duration(0)
	if len(edges) > 0 {
		end = edges[len(edges)-1].at
	}
	end += 2 * db
	got := simulate(Opts{Debounce: db}, false, edges, end)
	wantP, wantR := reference(db, edges, end)
	var gotP, gotR []time.Duration
	for _, e := range got {
		switch e.Kind {
		case Press:
			gotP = append(gotP, e.Time.Sub(t0))
		case Release:
			gotR = append(gotR, e.Time.Sub(t0))
		}
	}
	if !slices.Equal(gotP, wantP) || !slices.Equal(gotR, wantR) {
		t.Fatalf("debounce %v edges %v:\npresses  %v want %v\nreleases %v want %v", db, edges, gotP, wantP, gotR, wantR)
	}
}

func decodeEdges(data []byte) []edge {
	var edges []edge
	at := time.Duration(0)
	for len(data) >= 3 {
		gap := time.Duration(binary.LittleEndian.Uint16(data)) * 100 * time.Microsecond
		at += gap
		edges = append(edges, edge{at, data[2]&1 == 1})
		data = data[3:]
	}
	return edges
}

// TestDebounceProperty: over random edge sequences every stable press (held without
// an edge for at least the debounce time) is reported exactly once, at the moment it
// became stable, and nothing else is.
func TestDebounceProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		n := r.IntN(40)
		data := make([]byte, 3*n)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		// Bias gaps towards the debounce time so both sides of it are exercised.
		for i := 0; i+1 < len(data); i += 3 {
			g := uint16(r.IntN(500))
			binary.LittleEndian.PutUint16(data[i:], g)
		}
		checkProperty(t, DefaultDebounce, decodeEdges(data))
	}
}

func FuzzDebounce(f *testing.F) {
	f.Add(byte(20), []byte{0, 0, 1, 10, 0, 0, 200, 0, 1, 0, 10, 0})
	f.Add(byte(5), []byte{50, 0, 1, 49, 0, 0, 51, 0, 1, 50, 0, 1})
	f.Fuzz(func(t *testing.T, dbms byte, data []byte) {
		if len(data) > 3*200 {
			return
		}
		db := time.Duration(dbms%100+1) * time.Millisecond
		checkProperty(t, db, decodeEdges(data))
	})
}

func ExampleEvent_String() {
	fmt.Println(Event{Button: "talk", Kind: LongPress, Threshold: 1, Held: 10 * time.Second})
	// Output: talk long-press#1 10s
}
