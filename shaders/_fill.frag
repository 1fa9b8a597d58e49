// Internal: copy the uploaded frame (numpy row 0 = top, stored at t = 0) into the chain's source
// texture at the output size, scaled to fill and centre-cropped, flipped to GL orientation.
uniform sampler2D u_frame_tex;
uniform vec2 u_uv_offset;
uniform vec2 u_uv_scale;

void main() {
    vec2 uv = vec2(v_uv.x, 1.0 - v_uv.y);
    f_color = vec4(texture(u_frame_tex, u_uv_offset + uv * u_uv_scale).rgb, 1.0);
}
