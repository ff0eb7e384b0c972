package emulator_test

import (
	"context"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// The usual test setup: start the emulator on loopback, mint a key through one of the
// provider profiles, point the client at key.SDPURL, inject faults at run time and
// check what the emulator saw.
func Example() {
	srv, err := emulator.New(emulator.WithDialect(events.GA))
	if err != nil {
		panic(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai") // or "azure", "azure-preview", "broker"
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Dialect, key.SDPURL == srv.URL()+"/v1/realtime/calls")

	// ... connect a client with key.Value to key.SDPURL, talk, commit, response.create ...

	srv.SetFaults(emulator.Faults{MintStatus: 500, MintFailures: 1}) // the next mint fails
	_, err = srv.MintKey(ctx, "openai")
	fmt.Println(err != nil)

	st := srv.Stats()
	fmt.Println(st.MintRequests, st.MintsOK)
	// Output:
	// ga true
	// true
	// 2 1
}
