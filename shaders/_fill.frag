// Internal: copy the uploaded frame (numpy row 0 = top, stored at t = 0) into the chain's source
// texture at the output size, flipped to GL orientation. u_uv_scale / u_uv_offset map output uv to
// frame uv (vjgan/gfx/upload.py: fit_transform); u_fit_mode says what happens outside the frame:
// 0 fill (never: the frame covers the output), 1 fit (black bars), 2 mirror (mirrored picture).
uniform sampler2D u_frame_tex;
uniform vec2 u_uv_offset;
uniform vec2 u_uv_scale;
uniform int u_fit_mode;

void main() {
    vec2 uv = u_uv_offset + vec2(v_uv.x, 1.0 - v_uv.y) * u_uv_scale;
    if (u_fit_mode == 2) {
        uv = vj_mirror(uv);
    } else if (u_fit_mode == 1
               && (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0))))) {
        f_color = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    f_color = vec4(texture(u_frame_tex, uv).rgb, 1.0);
}
