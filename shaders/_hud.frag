// Internal: the operator HUD, an RGBA text panel alpha-blended over the window (never recorded).
void main() {
    f_color = texture(u_input, v_uv);
}
