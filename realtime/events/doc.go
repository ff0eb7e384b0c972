// Package events holds typed Go values for the realtime data-channel events that
// edgevoice sends and receives, for both dialects of the protocol.
//
// # Dialects
//
// The preview (beta) dialect and the GA dialect differ in a few event names
// (response.audio_transcript.delta vs response.output_audio_transcript.delta,
// response.text.* vs response.output_text.*) and in the shape of the session object:
// flat for preview (voice, turn_detection, input_audio_noise_reduction,
// input_audio_transcription at the top), nested for GA (type "realtime",
// audio.input.{turn_detection,noise_reduction,transcription}, audio.output.voice).
//
// [Append] and [Marshal] write an event in the names and shapes of one dialect.
// [Decode] accepts both dialects' names and shapes and maps them onto the same Go
// types, so a client does not need to know in advance which one the server speaks.
//
// # Decoding
//
// [Decode] never panics. An event whose type it does not know comes back as an
// [Unknown] value (callers log it at debug and go on); input that is not a JSON object
// with a string "type" comes back as an error wrapping [ErrMalformed]. Decoded events
// are values (TranscriptDelta, not *TranscriptDelta).
package events
