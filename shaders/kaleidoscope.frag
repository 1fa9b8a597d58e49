// Kaleidoscope: the picture folded into 6 mirrored wedges around the centre, so the output is
// mirror-symmetric about the horizontal and vertical axes (and every 30 degree line). The
// amplitude turns the slice of the picture that is reflected (a quarter turn at amp 1);
// u_strength blends from the input (0) to the full kaleidoscope (1). Two texture taps.
const float SEGMENTS = 6.0;

void main() {
    vec2 p = vj_centered_px();
    float wedge = VJ_TAU / SEGMENTS;
    float a = mod(atan(p.y, p.x), wedge);
    a = min(a, wedge - a) + u_amp * VJ_TAU / 4.0;
    vec2 q = length(p) * vec2(cos(a), sin(a));
    vec3 folded = texture(u_input, vj_mirror(vj_uv_at_px(q))).rgb;
    vec3 img = texture(u_input, v_uv).rgb;
    f_color = vec4(mix(img, folded, clamp(u_strength, 0.0, 1.0)), 1.0);
}
