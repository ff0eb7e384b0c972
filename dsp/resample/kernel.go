package resample

// run computes len(dst) outputs; the first uses hist[start : start+tp] with phase p, and
// each next one advances by (si, sf). It is set to the fastest implementation the CPU
// supports at init.
var run = runGo

// kernelName names the implementation run uses (for benchmarks and tests).
var kernelName = "go"
