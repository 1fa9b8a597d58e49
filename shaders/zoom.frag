// Zoom / rotate: the picture grows about its centre by 1 + u_strength * u_amp (2x at full) and
// turns counter-clockwise by u_strength * u_amp * 0.25 rad; a negative strength zooms out (to at
// most 10x smaller; the picture is mirrored beyond its edges). One texture tap.
void main() {
    float k = u_strength * u_amp;
    vec2 p = vj_rotate(vj_centered_px(), -0.25 * k) / max(1.0 + k, 0.1);
    f_color = vec4(texture(u_input, vj_mirror(vj_uv_at_px(p))).rgb, 1.0);
}
