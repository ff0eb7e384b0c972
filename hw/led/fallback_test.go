package led

import "testing"

// TestFallbackLook: the fallback indication changes Idle only, differently from the
// normal Idle on every output kind, and never hides the mic-live indication.
func TestFallbackLook(t *testing.T) {
	for _, k := range []Kind{Single, RGB, Ring} {
		if a, b := lookOf(k, Idle, false, true), LookFor(k, Idle, false); a == b {
			t.Errorf("%v: the fallback Idle looks like the normal Idle (%v)", k, a)
		}
		for s := Off; s < numStates; s++ {
			if s == Idle {
				continue
			}
			if a, b := lookOf(k, s, false, true), LookFor(k, s, false); a != b {
				t.Errorf("%v %v: fallback changed the look %v → %v", k, s, b, a)
			}
		}
		if a, b := lookOf(k, Idle, true, true), LookFor(k, Idle, true); a != b {
			t.Errorf("%v: fallback hid the mic-live look", k)
		}
	}
}
