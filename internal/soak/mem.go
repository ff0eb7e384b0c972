package soak

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// memBreakdown is where the process's memory is, for the soak's summary and per-sample
// trace (EDGEVOICE_SOAK_TRACE=1): the RSS alone does not say whether a rise is Go's heap,
// C's malloc (libopus, glibc's per-thread arenas), thread stacks or pages of the binary.
// Go's own figures count what it mapped, touched or not, so RssAnon can grow while they stay flat.
type memBreakdown struct {
	goMapped uint64 // memory the Go runtime holds from the OS and has not released
	buckets  uint64 // of it, the memory profile's buckets (never freed)
	metadata uint64 // of it, the runtime's own structures (spans, caches, other)
	mspans   uint64 // of metadata, the span structures
	stacks   uint64 // of it, goroutine and OS thread stacks
	anon     uint64 // RssAnon: Go's heap and stacks, C's malloc arenas, thread stacks
	file     uint64 // RssFile: the binary's and the libraries' pages in memory
	threads  int    // OS threads of the process
}

func readMem() memBreakdown {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/profiling/buckets:bytes"}, {Name: "/memory/classes/metadata/mspan/inuse:bytes"},
		{Name: "/memory/classes/metadata/mcache/inuse:bytes"}, {Name: "/memory/classes/metadata/other:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/memory/classes/os-stacks:bytes"}}
	metrics.Read(s)
	m := memBreakdown{
		goMapped: s[0].Value.Uint64() - s[1].Value.Uint64(),
		buckets:  s[2].Value.Uint64(),
		metadata: s[3].Value.Uint64() + s[4].Value.Uint64() + s[5].Value.Uint64(),
		stacks:   s[6].Value.Uint64() + s[7].Value.Uint64(),
		mspans:   s[3].Value.Uint64(),
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for l := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			n, _ := strconv.ParseUint(v, 10, 64)
			switch k {
			case "Threads":
				m.threads = int(n)
			case "RssAnon":
				m.anon = n << 10
			case "RssFile":
				m.file = n << 10
			}
		}
	}
	return m
}
