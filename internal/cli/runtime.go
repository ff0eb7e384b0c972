package cli

import "runtime"

// NoMemProfile turns off the Go runtime's sampling of heap allocations. No binary of
// this project serves pprof or writes a heap profile, so the samples would never be
// read, and their buckets are never freed: in the appliance they held 1.4 MB after a
// few turns and kept growing by about 0.3 KB per turn as new call stacks were sampled
// (the soak's trace, issue 13). Call it first thing in main, before allocations worth
// sampling.
func NoMemProfile() { runtime.MemProfileRate = 0 }
