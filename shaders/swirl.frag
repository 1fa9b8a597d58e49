// Swirl (Lucid Sonic Dreams' custom-effect example): the picture twists around its centre by an
// angle that follows the amplitude: u_strength * u_amp half-turns at the centre, easing to none at
// the edge of the inscribed circle (outside it the picture is untouched). One texture tap.
void main() {
    vec2 p = vj_centered_px();
    float radius = 0.5 * min(u_resolution.x, u_resolution.y);
    float w = max(0.0, 1.0 - length(p) / radius);
    float angle = 0.5 * VJ_TAU * u_strength * u_amp * w * w;
    f_color = vec4(texture(u_input, vj_uv_at_px(vj_rotate(p, -angle))).rgb, 1.0);
}
