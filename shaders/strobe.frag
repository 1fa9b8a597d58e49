// Strobe: the picture turns white while the amplitude is above one half (u_strength: how white,
// 1 = full white) and passes through unchanged below. With amp = "onset" it fires on every hit.
// The photosensitivity limiter keeps the result to at most 3 flashes a second. One texture tap.
void main() {
    vec3 img = texture(u_input, v_uv).rgb;
    float on = step(0.5, u_amp) * clamp(u_strength, 0.0, 1.0);
    f_color = vec4(mix(img, vec3(1.0), on), 1.0);
}
