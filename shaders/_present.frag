// Internal: draw a chain output texture into the window's (letterboxed) viewport.
void main() {
    f_color = vec4(texture(u_input, v_uv).rgb, 1.0);
}
