//go:build webrtcaudio

#include "shim.h"

#include <string.h>

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

struct wapm {
	webrtc::AudioProcessing *apm;
	webrtc::AudioFrame far, near;
	int rate, delay_ms;
};

static void setup(webrtc::AudioFrame *f, int rate) {
	f->sample_rate_hz_ = rate;
	f->num_channels_ = 1;
	f->samples_per_channel_ = rate / 100;
}

wapm *wapm_new(int rate, int aec, int ns, int agc, int delay_ms) {
	webrtc::Config cfg;
	cfg.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
	cfg.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
	webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(cfg);
	if (!apm) return nullptr;
	apm->high_pass_filter()->Enable(true);
	if (aec == 1) {
		apm->echo_cancellation()->enable_drift_compensation(false);
		apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kModerateSuppression);
		apm->echo_cancellation()->Enable(true);
	} else if (aec == 2) {
		apm->echo_control_mobile()->set_routing_mode(webrtc::EchoControlMobile::kSpeakerphone);
		apm->echo_control_mobile()->Enable(true);
	}
	if (ns) {
		apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kModerate);
		apm->noise_suppression()->Enable(true);
	}
	if (agc) {
		apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
		apm->gain_control()->Enable(true);
	}
	wapm *w = new wapm;
	w->apm = apm;
	w->rate = rate;
	w->delay_ms = delay_ms;
	setup(&w->far, rate);
	setup(&w->near, rate);
	return w;
}

int wapm_process(wapm *w, const int16_t *mic, const int16_t *ref, int16_t *out) {
	size_t n = w->rate / 100;
	memcpy(w->far.data_, ref, n * sizeof(int16_t));
	int err = w->apm->ProcessReverseStream(&w->far);
	if (err) return err;
	memcpy(w->near.data_, mic, n * sizeof(int16_t));
	w->apm->set_stream_delay_ms(w->delay_ms);
	err = w->apm->ProcessStream(&w->near);
	memcpy(out, w->near.data_, n * sizeof(int16_t));
	return err;
}

void wapm_free(wapm *w) {
	delete w->apm;
	delete w;
}
