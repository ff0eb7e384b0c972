// A C face for the C++ API of WebRTC's audio processing module 0.3 (Debian's
// libwebrtc-audio-processing), used only by the comparison in this package.
#ifndef EDGEVOICE_WEBRTCREF_SHIM_H
#define EDGEVOICE_WEBRTCREF_SHIM_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct wapm wapm;
// wapm_new returns a module at rate Hz (10 ms frames) with the echo canceller (aec:
// 1 full AEC with the extended filter and delay-agnostic mode, 2 the mobile AECM),
// noise suppression and adaptive digital gain control switched as given.
wapm *wapm_new(int rate, int aec, int ns, int agc, int delay_ms);
int wapm_process(wapm *w, const int16_t *mic, const int16_t *ref, int16_t *out);
void wapm_free(wapm *w);
#ifdef __cplusplus
}
#endif
#endif
