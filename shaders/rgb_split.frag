// RGB split (chromatic aberration): red moves right and blue left by u_strength * u_amp * 5 % of
// the width; green stays. Three texture taps.
void main() {
    vec2 off = vec2(0.05 * u_strength * u_amp, 0.0);
    float r = texture(u_input, vj_mirror(v_uv - off)).r;
    float g = texture(u_input, v_uv).g;
    float b = texture(u_input, vj_mirror(v_uv + off)).b;
    f_color = vec4(r, g, b, 1.0);
}
