// vjgan shader contract: prepended (after `#version 330 core`) to every effect by the loader.
// Write an effect as shaders/<name>.frag containing only a main() that reads v_uv / u_input and
// writes f_color. Colours are 0..1; v_uv = (0,0) is the bottom-left and (1,1) the top-right of
// the picture (GL convention). Uniforms a program does not use are dropped by the driver and
// simply not set, so an effect may ignore any of them.

in vec2 v_uv;
out vec4 f_color;

uniform float u_time_s;          // seconds since start
uniform int u_frame;             // frame index
uniform vec2 u_resolution;       // output size in pixels
uniform sampler2D u_source;      // this frame's generator image (filled/cropped to u_resolution)
uniform sampler2D u_input;       // previous pass's output (== u_source for the first pass)
uniform sampler2D u_prev_output; // last frame's chain output, before blackout and the flash
                                 // limiter (black on the first frame)

// Audio features (see vjgan/gfx/uniforms.py: FrameUniforms)
uniform float u_level;           // 0..1 loudness (rolling-normalised)
uniform float u_onset;           // 1 on a frame with a detected onset, else 0
uniform float u_pulse;           // the reactor's pulse
uniform float u_low;             // 0..1 band levels: < 250 Hz, 250 Hz..4 kHz, > 4 kHz
uniform float u_mid;
uniform float u_high;
uniform float u_percussive;      // 0..1 hit energy
uniform float u_harmonic;        // 0..1 sustained energy
uniform float u_chroma[12];
uniform float u_bpm;             // 0 while the tempo is unknown
uniform float u_beat_phase;      // 0..1 inside the current beat
uniform float u_contrast_amp;
uniform float u_flash_amp;

// Per effect (from its EffectSpec): strength, and the amplitude it reacts to (spec.amp field)
uniform float u_strength;
uniform float u_amp;

// Luma statistics of u_input, computed by the chain only for programs that use them.
// texel (0,0): .r = sum over u_input of Pillow's 8-bit luma (299R+587G+114B)/1000 rounded,
//              .g = number of pixels.
uniform usampler2D u_input_stats;

// Mean luma of u_input as Pillow's ImageStat computes it for ImageEnhance.Contrast:
// int(mean + 0.5) in 0..255, returned in 0..1.
float vj_input_mean_luma() {
    uvec2 s = texelFetch(u_input_stats, ivec2(0, 0), 0).rg;
    uint count = max(s.g, 1u);
    uint q = s.r / count;
    uint r = s.r - q * count;
    return float(q + ((2u * r >= count) ? 1u : 0u)) / 255.0;
}

float vj_luma(vec3 c) {
    return dot(c, vec3(0.299, 0.587, 0.114));
}

const float VJ_TAU = 6.28318530718;

// This fragment's offset from the picture's centre in pixels (x right, y up; aspect-correct).
vec2 vj_centered_px() {
    return (v_uv - 0.5) * u_resolution;
}

// The uv of a point given as a pixel offset from the centre (inverse of vj_centered_px).
vec2 vj_uv_at_px(vec2 p) {
    return p / u_resolution + 0.5;
}

// `p` turned counter-clockwise by `angle` radians.
vec2 vj_rotate(vec2 p, float angle) {
    float c = cos(angle), s = sin(angle);
    return vec2(c * p.x - s * p.y, s * p.x + c * p.y);
}

// Fold a uv outside 0..1 back inside by mirroring (no edge smear when sampling off the picture).
vec2 vj_mirror(vec2 uv) {
    return 1.0 - abs(mod(uv, 2.0) - 1.0);
}
