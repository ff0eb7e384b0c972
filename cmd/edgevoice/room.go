package main

import (
	"fmt"

	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/control"
)

// openRoom opens the simulated room of [audio] room_delay as the mic and the speaker:
// the speaker's sound returns into the mic, and input_file (if set) is said once.
func (r *runner) openRoom(c *config.Audio) error {
	room, err := sim.NewRoom(sim.RoomOpts{Rate: 16000, Delay: c.RoomDelay.D(), GainDB: c.RoomGainDB})
	if err != nil {
		return fmt.Errorf("[audio] room_delay: %w", err)
	}
	if c.InputFile != "" {
		clip, rate, err := readMonoWAV(c.InputFile)
		if err == nil && rate != 16000 {
			err = fmt.Errorf("%s is %d Hz: the simulated room runs at 16000 Hz (`sox in.wav -r 16000 out.wav`)", c.InputFile, rate)
		}
		if err != nil {
			room.Close()
			return fmt.Errorf("[audio] input_file: %w", err)
		}
		room.Say(clip)
	}
	r.mic, r.speaker = room.Mic(), room.Speaker()
	desc := fmt.Sprintf("simulated room (echo after %v at %+.0f dB)", c.RoomDelay.D(), c.RoomGainDB)
	r.micStat = func() control.AudioStatus {
		return control.AudioStatus{Role: "mic", Device: desc, Format: room.Mic().Format().String(), State: "simulated"}
	}
	r.spkStat = func() control.AudioStatus {
		return control.AudioStatus{Role: "speaker", Device: desc, Format: room.Speaker().Format().String(), State: "simulated"}
	}
	return nil
}
