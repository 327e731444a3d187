/** Entry point of the agent console (/console/). */
import "./console.css";
import { render } from "preact";
import { App } from "./App";
import { ConsoleApi } from "./api";

const root = document.getElementById("app");
if (root) render(<App api={new ConsoleApi()} />, root);
