#version 330 core
// Internal (no contract header): the chain's last pass. Shows mix(shown, candidate * gain, alpha)
// mixed in linear light, so the mean relative luminance of the result is exactly
// (1 - alpha) * mean(shown) + alpha * gain * mean(candidate) (vjgan/gfx/safety.py). gain < 1 is a
// blackout fading in or out; alpha < 1 is the photosensitivity limiter holding a change back.
in vec2 v_uv;
out vec4 f_color;

uniform sampler2D u_candidate;
uniform sampler2D u_shown;
uniform float u_alpha;
uniform float u_gain;

vec3 to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), greaterThan(c, vec3(0.03928)));
}

vec3 from_linear(vec3 l) {
    l = clamp(l, 0.0, 1.0);
    return mix(l * 12.92, 1.055 * pow(l, vec3(1.0 / 2.4)) - 0.055,
               greaterThan(l, vec3(0.03928 / 12.92)));
}

// Only drawn while something is held back or dimmed; otherwise the chain copies the candidate.
void main() {
    vec3 candidate = texture(u_candidate, v_uv).rgb;
    vec3 shown = texture(u_shown, v_uv).rgb;
    f_color = vec4(from_linear(mix(to_linear(shown), to_linear(candidate) * u_gain, u_alpha)), 1.0);
}
