package jitter

import (
	"fmt"
	"strings"
	"testing"
)

func drain(b *Buffer) string {
	var out []string
	for {
		st, ok := b.Pop()
		if !ok {
			return strings.Join(out, " ")
		}
		s := fmt.Sprintf("%s%d", st.Kind.String()[:1], st.Seq)
		if st.Kind != KindConceal {
			s += "=" + string(st.Payload)
		}
		out = append(out, s)
	}
}

func push(b *Buffer, seqs ...uint16) {
	for _, s := range seqs {
		b.Push(s, []byte{byte('a' + s%26)})
	}
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
		seqs  []uint16
		want  string
	}{
		{"in order", 2, []uint16{10, 11, 12}, "p10=k p11=l p12=m"},
		{"reorder within depth", 2, []uint16{10, 12, 11, 13}, "p10=k p11=l p12=m p13=n"},
		{"single loss recovered by FEC", 2, []uint16{10, 12, 13}, "p10=k f11=m p12=m p13=n"},
		{"burst loss: conceal then FEC", 2, []uint16{10, 13, 14}, "p10=k c11 f12=n p13=n p14=o"},
		{"gap within depth waits", 3, []uint16{10, 12, 13}, "p10=k"},
		{"wraparound", 1, []uint16{65534, 65535, 1}, "p65534=o p65535=p f0=b p1=b"},
		{"late and duplicate dropped", 1, []uint16{10, 11, 10, 11, 12}, "p10=k p11=l p12=m"},
		{"long gap resyncs without concealing", 1, []uint16{10, 100, 101}, "p10=k p100=w p101=x"},
	} {
		b := New(tc.depth, 16)
		var got []string
		for _, s := range tc.seqs {
			push(b, s)
			if d := drain(b); d != "" {
				got = append(got, d)
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
	}
}

func TestStatsExpireFlush(t *testing.T) {
	b := New(3, 16)
	push(b, 1, 2, 1, 4)
	drain(b)
	st, ok := b.Expire()
	if !ok || st.Kind != KindFEC || st.Seq != 3 {
		t.Fatalf("Expire = %+v %v, want fec 3", st, ok)
	}
	if d := drain(b); d != "p4=e" {
		t.Fatalf("after expire: %q", d)
	}
	if _, ok := b.Expire(); ok {
		t.Fatal("Expire with nothing missing returned a step")
	}
	s := b.Stats()
	if s.Received != 3 || s.Duplicate != 1 || s.Lost != 1 {
		t.Fatalf("stats %+v", s)
	}
	push(b, 5, 7)
	b.Flush()
	push(b, 200, 201)
	if d := drain(b); d != "p200=s p201=t" {
		t.Fatalf("after flush: %q", d)
	}
}

func TestNoAllocs(t *testing.T) {
	b := New(2, 16)
	p := make([]byte, 100)
	var seq uint16
	if a := testing.AllocsPerRun(100, func() {
		b.Push(seq, p)
		seq += 1 + seq%3/2 // drops every third-ish packet
		for {
			if _, ok := b.Pop(); !ok {
				break
			}
		}
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func TestKindString(t *testing.T) {
	if KindPacket.String() != "packet" || KindFEC.String() != "fec" || KindConceal.String() != "conceal" || Kind(9).String() != "Kind(9)" {
		t.Fatal("Kind.String")
	}
}
