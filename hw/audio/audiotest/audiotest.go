// Package audiotest sets up real ALSA devices backed by files, for tests that push
// known samples through the real ALSA path (hw/audio, the appliance, the subcommands).
//
// ALSA's "file" plugin over the "null" PCM reads capture samples from a raw file and
// writes played samples to another. It is not paced (seconds of audio pass in
// milliseconds) and after the end of its input it repeats stale data, so a test must
// bound how much it reads.
package audiotest

import (
	"fmt"
	"os"
	"path/filepath"
)

// SystemConfig is Debian's top-level ALSA configuration (package libasound2-data).
const SystemConfig = "/usr/share/alsa/alsa.conf"

// Device names WriteALSAConfig defines, and their descriptions as device lists show them.
const (
	Mic           = "filemic" // capture: reads In(dir), tees to dir/tee.raw
	MicName       = "Test file mic"
	Speaker       = "filespk" // playback: writes Out(dir)
	SpeakerName   = "Test file speaker"
	NullSpeaker   = "nullspk" // playback: discards
	NullSpeakerNm = "Test null speaker"
)

// In is the raw file the capture device reads: interleaved samples in the format the
// device is opened with, no header.
func In(dir string) string { return filepath.Join(dir, "in.raw") }

// Out is the raw file the playback device writes.
func Out(dir string) string { return filepath.Join(dir, "out.raw") }

// WriteALSAConfig writes dir/asoundrc defining Mic, Speaker, NullSpeaker and a default
// device (Mic for capture, NullSpeaker for playback), creates an empty In(dir), and
// returns the value to give ALSA_CONFIG_PATH (ALSA rereads its configuration when that
// variable or the files change, so t.Setenv before opening a device is enough).
func WriteALSAConfig(dir string) (string, error) {
	if _, err := os.Stat(SystemConfig); err != nil {
		return "", fmt.Errorf("audiotest: ALSA is not installed (%w); run `make deps` (build/install-deps.sh installs libasound2-dev)", err)
	}
	rc := fmt.Sprintf(`pcm.%[2]s {
    type file
    slave.pcm "null"
    file "%[1]s/tee.raw"
    infile "%[1]s/in.raw"
    format "raw"
    hint { show on description "%[3]s" }
}
pcm.%[4]s {
    type file
    slave.pcm "null"
    file "%[1]s/out.raw"
    format "raw"
    hint { show on description "%[5]s" }
}
pcm.%[6]s { type null hint { show on description "%[7]s" } }
pcm.!default { type asym playback.pcm "%[6]s" capture.pcm "%[2]s" }
`, dir, Mic, MicName, Speaker, SpeakerName, NullSpeaker, NullSpeakerNm)
	path := filepath.Join(dir, "asoundrc")
	if err := os.WriteFile(path, []byte(rc), 0o644); err != nil {
		return "", fmt.Errorf("audiotest: %w", err)
	}
	if err := os.WriteFile(In(dir), nil, 0o644); err != nil {
		return "", fmt.Errorf("audiotest: %w", err)
	}
	return SystemConfig + ":" + path, nil
}
