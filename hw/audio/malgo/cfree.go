package malgo

// #include <stdlib.h>
import "C"
import (
	"sync"
	"unsafe"
)

// cfree releases C memory that malgo allocated for us (DeviceID.Pointer uses C.CBytes).
func cfree(p unsafe.Pointer) {
	if p != nil {
		C.free(p)
	}
}

// blankChannelMap returns a static C array of MA_MAX_CHANNELS zero bytes: a channel map
// of MA_CHANNEL_NONE. Given as the client channel map it makes miniaudio adopt the
// device's own map, so channels pass through untouched (by default miniaudio assumes
// its standard map and, where the device's differs, mixes channels: for a mic array
// that would smear the microphones into each other).
var blankChannelMap = sync.OnceValue(func() unsafe.Pointer { return C.calloc(256, 1) })
