package malgo

import (
	"errors"
	"fmt"
	"github.com/edgevoice/edgevoice/hw/audio"
	"path/filepath"
	"testing"
)

// An ALSA PCM specification that no device list shows ("plug:filemic" wraps the file
// mic in a plug converter) is opened as given, and the samples come through it unchanged.
func testALSACapturePCM[T int16 | int32](t *testing.T, pcm string, sf audio.SampleFormat, ch int) {
	dir := alsaRig(t)
	devs, err := audio.ListDevices(audio.BackendALSA)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.ID == pcm || d.Name == pcm {
			t.Fatalf("%q is in the device list (%v): the test needs a PCM that is not", pcm, d)
		}
	}
	const frames = 12000 // 250 ms at 48 kHz: fits the ring, the plugin is unpaced
	want := testSignal[T](frames, ch)
	writeRaw(t, filepath.Join(dir, "in.raw"), want)
	c, err := audio.OpenCapture[T](audio.Opts{Backend: audio.BackendALSA, Device: pcm, Format: audio.Format{Rate: 48000, Channels: ch, Sample: sf}, RingFrames: 16384})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := c.Device(); d.ID != pcm {
		t.Errorf("opened %+v, want the PCM %q", d, pcm)
	}
	got := readAll[T](t, c, len(want))
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("sample %d (frame %d ch %d) = %d, want %d", i, i/ch, i%ch, got[i], want[i])
	}
}

func TestALSACapturePCMName(t *testing.T) {
	for _, pcm := range []string{"plug:filemic", "plug:SLAVE=filemic", "plug:'filemic'"} {
		t.Run(fmt.Sprintf("%s/s16/2ch", pcm), func(t *testing.T) { testALSACapturePCM[int16](t, pcm, audio.S16, 2) })
		t.Run(fmt.Sprintf("%s/s32/4ch", pcm), func(t *testing.T) { testALSACapturePCM[int32](t, pcm, audio.S32, 4) })
	}
}

// A PCM specification ALSA does not know fails like an unknown name: ErrNoDevice, the
// devices that exist, and where to find the other PCMs.
func TestALSAUnknownPCMName(t *testing.T) {
	alsaRig(t)
	for _, pcm := range []string{"plug:nosuchpcm", "nosuchpcm:0"} {
		for _, b := range []audio.Backend{audio.BackendALSA, audio.BackendAuto} {
			_, err := audio.OpenCapture[int16](audio.Opts{Backend: b, Device: pcm})
			if !errors.Is(err, audio.ErrNoDevice) {
				t.Fatalf("%v %s: err = %v, want ErrNoDevice", b, pcm, err)
			}
			for _, s := range []string{fmt.Sprintf("%q", pcm), "does not exist", `"Test file mic" (filemic)`, "aplay -L"} {
				if !contains(err.Error(), s) {
					t.Errorf("%v %s: error %q does not mention %s", b, pcm, err, s)
				}
			}
		}
	}
}
