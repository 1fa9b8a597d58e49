// Trails (video feedback): last frame's output is blended back in, so moving things leave fading
// copies. Feedback k = u_strength * (0.5 + 0.5 * u_amp), at most 0.95: louder parts leave longer
// trails. out = (1 - k) * input + k * previous output. Two texture taps.
void main() {
    float k = clamp(u_strength * (0.5 + 0.5 * u_amp), 0.0, 0.95);
    vec3 img = texture(u_input, v_uv).rgb;
    vec3 prev = texture(u_prev_output, v_uv).rgb;
    f_color = vec4(mix(img, prev, k), 1.0);
}
